import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RULES } from '../src/protocol/rules.ts';
import { HTTP_VARIANTS_CLIENT, MINIMAL_CLIENT, failedRules, rulesWithStatus, runKit } from './support/kit.ts';

// Side by side, three at a time: the long runs mostly wait on the server's delays and Retry-After.
describe('the kit end to end', { concurrency: 3 }, () => {
  test('the default run grades the reference uploader and the embedded server conformant on every rule, and writes every report', async () => {
    const { code, report, reportDir, stdout } = await runKit([]);
    assert.equal(code, 0, stdout);
    assert.ok(report);
    const notPassed = report.rules.filter((rule) => rule.status !== 'passed').map((rule) => `${rule.id} ${rule.status}: ${rule.evidence ?? ''}`);
    assert.equal(report.verdict, 'conformant', notPassed.join('\n'));
    assert.equal(report.target.kind, 'client+server');
    const allRules = RULES.map((rule) => rule.id);
    assert.deepEqual(
      report.rules.map((rule) => rule.id),
      allRules,
    );
    assert.ok(report.rules.every((rule) => rule.status === 'passed' && rule.scenarios.length > 0));
    assert.deepEqual(report.summary, { passed: allRules.length, failed: 0, skipped: 0, blocked: 0 });
    assert.match(stdout.trim().split('\n').at(-1) ?? '', new RegExp(`^${allRules.length} passed, 0 failed, 0 skipped, 0 blocked$`));
    for (const name of ['conformance.md', 'junit.xml', 'conformance.svg', 'cucumber.html', 'messages.ndjson']) {
      assert.ok((await readFile(join(reportDir, name), 'utf8')).length > 0, name);
    }
    const junit = await readFile(join(reportDir, 'junit.xml'), 'utf8');
    assert.equal(junit.match(/<testcase /g)?.length, allRules.length);
  });

  test('--client grades the client side only', async () => {
    const { report } = await runKit(['--client', MINIMAL_CLIENT, '--tags', '@C-CREATE']);
    assert.equal(report?.target.kind, 'client');
    assert.ok(report?.rules.every((rule) => rule.id.startsWith('C-')));
  });

  test('an independent client without defects is conformant', async () => {
    const { code, report } = await runKit(['--client', MINIMAL_CLIENT]);
    assert.deepEqual(failedRules(report), []);
    assert.equal(report?.verdict, 'conformant');
    assert.equal(code, 0);
  });

  test('a client using what HTTP allows (auth scheme in any case, header names in any case, chunked part bodies, Connection: close, extra JSON fields) is conformant', async () => {
    const { code, report } = await runKit(['--client', HTTP_VARIANTS_CLIENT]);
    assert.deepEqual(failedRules(report), []);
    assert.deepEqual(rulesWithStatus(report, 'blocked'), []);
    assert.equal(report?.verdict, 'conformant');
    assert.equal(code, 0);
  });

  test('a client that finds retry-after in any letter case and waits it is conformant on every rule that judges a wait', async () => {
    const tags = '@C-RETRY or @C-RETRY-FIRST or @C-RATE-LIMIT or @C-COMMIT-RETRY-AFTER';
    const { code, report } = await runKit(['--client', `${MINIMAL_CLIENT} --variant any-case-retry-after`, '--tags', tags]);
    assert.deepEqual(failedRules(report), []);
    assert.deepEqual(rulesWithStatus(report, 'blocked'), []);
    assert.deepEqual(rulesWithStatus(report, 'passed'), ['C-COMMIT-RETRY-AFTER', 'C-RATE-LIMIT', 'C-RETRY', 'C-RETRY-FIRST']);
    assert.equal(code, 0);
  });

  test('a part the HTTP parser refused is in the evidence: its raw head (token scrubbed, the bare CR spelled out), the reason, and the answer with its headers', async () => {
    const { report, reportDir } = await runKit(['--client', `${MINIMAL_CLIENT} --defect cr-in-digest`, '--tags', '@C-DIGEST']);
    assert.deepEqual(failedRules(report), ['C-DIGEST']);
    const html = await readFile(join(reportDir, 'conformance.html'), 'utf8');
    const section = html.slice(html.indexOf('id="failed-C-DIGEST"'));
    assert.match(section, /refused by the server&#39;s HTTP parser: The request could not be parsed: .*\(HPE_\w+\)/);
    assert.match(section, /authorization: Bearer &lt;redacted&gt;\\r\\n/);
    assert.match(section, /digest: sha=[\w+/]+\\r[\w+/=]+\\r\\n/);
    assert.match(section, /→ HTTP 400 at [\d.]+ ms\ncontent-type: application\/json\n[\s\S]*box-request-id: \w+/);
  });

  test('--tags narrows the run; rules left out are skipped, never passed', async () => {
    const { code, report } = await runKit(['--tags', '@C-DIGEST']);
    assert.equal(code, 0);
    assert.equal(report?.rules.find((rule) => rule.id === 'C-DIGEST')?.status, 'passed');
    assert.ok(report?.rules.filter((rule) => rule.id !== 'C-DIGEST').every((rule) => rule.status === 'skipped'));
  });

  test('--strict makes a SHOULD failure gate', async () => {
    const { code, report } = await runKit(['--client', `${MINIMAL_CLIENT} --defect unsorted-commit`, '--strict', '--tags', '@C-COMMIT-SORTED']);
    assert.deepEqual(failedRules(report), ['C-COMMIT-SORTED']);
    assert.equal(code, 1);
  });

  test('a server that cannot be reached is a kit error: one line, exit 2', async () => {
    const { code, stderr } = await runKit(['--server', 'http://127.0.0.1:9/api/2.0', '--token', 'x']);
    assert.equal(code, 2);
    assert.match(stderr, /cannot reach http:\/\/127\.0\.0\.1:9\/api\/2\.0/);
  });

  test('--expect-failures: a listed failure is a known deviation that does not gate; a listed pass fails the run', async () => {
    const list = join(await mkdtemp(join(tmpdir(), 'expect-')), 'known.txt');
    await writeFile(list, '# known deviations\nC-COMMIT-SORTED   # we send parts in upload order\n');
    const known = await runKit(['--client', `${MINIMAL_CLIENT} --defect unsorted-commit`, '--strict', '--tags', '@C-COMMIT-SORTED', '--expect-failures', list]);
    const rule = known.report?.rules.find((entry) => entry.id === 'C-COMMIT-SORTED');
    assert.equal(rule?.status, 'failed');
    assert.equal(rule?.expectedToFail, true);
    assert.equal(known.code, 0);
    assert.match(known.stdout, /C-COMMIT-SORTED .*\(known deviation\)/);
    const stale = await runKit(['--client', MINIMAL_CLIENT, '--strict', '--tags', '@C-COMMIT-SORTED', '--expect-failures', list]);
    assert.equal(stale.report?.rules.find((entry) => entry.id === 'C-COMMIT-SORTED')?.status, 'passed');
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /listed in --expect-failures, but passed: remove it from the list/);
    await writeFile(list, 'C-NOT-A-RULE\n');
    const unknown = await runKit(['--expect-failures', list]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /C-NOT-A-RULE is not a rule id/);
  });

  test('a client command that does not exist is a kit error: one line, exit 2', async () => {
    const { code, stderr } = await runKit(['--client', 'no-such-uploader-xyz', '--tags', '@C-CREATE']);
    assert.equal(code, 2);
    assert.match(stderr, /could not run: the client command was not found/);
  });

  test('a client that hangs is killed at --timeout, with everything it started', async () => {
    const { code, report } = await runKit(['--client', 'sleep 30 & sleep 30', '--timeout', '1', '--tags', '@C-SUCCESS-HONEST']);
    assert.equal(code, 1);
    assert.match(report?.rules.find((rule) => rule.id === 'C-SUCCESS-HONEST')?.evidence ?? '', /killed at the timeout/);
  });

  for (const args of [
    ['--bogus'],
    ['--timeout', 'soon'],
    ['--client'],
    ['--record', 'x'],
    ['--server', 'not a url', '--token', 't'],
    ['--client', 'x', '--server', 'http://127.0.0.1:1/api/2.0', '--token', 't'],
  ]) {
    test(`a bad option (${args.join(' ')}) gets one line and exit 2`, async () => {
      const { code, stderr } = await runKit(args);
      assert.equal(code, 2);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /--help/);
    });
  }
});
