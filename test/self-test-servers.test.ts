import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ruleById } from '../src/protocol/rules.ts';
import { MINIMAL_SERVER, MINIMAL_SERVER_ARGS, SERVER_DEFECTS, SERVER_LEGAL_VARIANTS, failedRules, runKit, startServerProcess } from './support/kit.ts';

const TOKEN = 'self-test-token-7f3a';

async function gradeServer(serverArgs: string[], kitArgs: string[] = []) {
  const server = await startServerProcess([MINIMAL_SERVER, '--token', TOKEN, ...MINIMAL_SERVER_ARGS, ...serverArgs]);
  try {
    return await runKit(['--server', server.baseUrl, '--token', TOKEN, ...kitArgs]);
  } finally {
    await server.stop();
  }
}

const notPassed = (report: Awaited<ReturnType<typeof gradeServer>>['report']) =>
  (report?.rules ?? []).filter((rule) => rule.status !== 'passed').map((rule) => `${rule.id} ${rule.status}: ${rule.evidence}`);

describe('self-test: deliberately broken servers, each a real process on loopback', () => {
  test('an independent server without defects is conformant', async () => {
    const { code, report, stdout } = await gradeServer([]);
    assert.deepEqual(failedRules(report), [], stdout);
    assert.equal(report?.target.kind, 'server');
    assert.ok(report?.rules.every((rule) => rule.id.startsWith('S-')));
    assert.deepEqual(notPassed(report), []);
    assert.equal(code, 0);
  });

  for (const { name, args } of SERVER_LEGAL_VARIANTS) {
    test(`legal behaviour fails no rule: ${name}`, async () => {
      const { code, report, stdout, stderr } = await gradeServer(args);
      assert.deepEqual(notPassed(report), [], stdout + stderr);
      assert.equal(code, 0);
    });
  }

  for (const { defect, breaks, notJudged = [] } of SERVER_DEFECTS) {
    test(`server defect "${defect}" is caught as ${breaks} and nothing else`, async () => {
      const { code, report, stderr } = await gradeServer(['--defect', defect]);
      assert.ok(report, `no report; stderr: ${stderr}`);
      const failed = report.rules.filter((rule) => rule.status === 'failed');
      assert.deepEqual(failedRules(report), [breaks], JSON.stringify(failed.map((rule) => [rule.id, rule.evidence])));
      assert.notEqual(failed[0]?.evidence, '');
      const must = ruleById(breaks)?.level === 'MUST';
      assert.equal(report.verdict, must ? 'non-conformant' : 'conformant-with-warnings');
      assert.equal(code, must ? 1 : 0);
      assert.doesNotMatch(JSON.stringify(report), new RegExp(TOKEN));
      for (const id of notJudged) assert.notEqual(report.rules.find((rule) => rule.id === id)?.status, 'passed', `${id} passed, but could not be judged`);
    });
  }

  test('a wait longer than --timeout is a kit error naming the answer waited for, never a failed rule', async () => {
    const { code, report, stderr } = await gradeServer(['--variant', 'slow-commit'], ['--timeout', '2', '--tags', '@S-COMMIT-OK']);
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /gave up waiting for the answer to POST http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/files\/upload_sessions\/\w+\/commit \(the commit\) after 2 s/,
    );
    assert.match(stderr, /asked to commit again after 6 s\); raise --timeout/);
    assert.deepEqual(failedRules(report), []);
    assert.equal(report?.rules.find((rule) => rule.id === 'S-COMMIT-OK')?.status, 'skipped');
  });
});
