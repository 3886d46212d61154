import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KNOWN_CLIENTS } from '../src/cli/known-clients.ts';
import { CLIENT_RUN_MEDIA_TYPE } from '../src/grader/attachments.ts';
import type { ConformanceReport } from '../src/grader/reports.ts';
import { MINIMAL_CLIENT, runKit } from './support/kit.ts';
import { assertGradedEndToEnd } from './support/real-clients.ts';

/** The attachments of one kind in a run's Cucumber messages. */
async function attachments(reportDir: string, mediaType: string): Promise<string[]> {
  const lines = (await readFile(join(reportDir, 'messages.ndjson'), 'utf8')).split('\n').filter(Boolean);
  return lines
    .map((line) => JSON.parse(line) as { attachment?: { mediaType: string; body: string } })
    .flatMap((message) => (message.attachment?.mediaType === mediaType ? [message.attachment.body] : []));
}

const statuses = (report: ConformanceReport | undefined) => Object.fromEntries((report?.rules ?? []).map((rule) => [rule.id, rule.status]));

const known = (id: string) => {
  const client = KNOWN_CLIENTS.find((candidate) => candidate.id === id);
  if (!client) throw new Error(`no known client ${id}`);
  return ['--client', client.command, ...(client.kitArgs ?? [])];
};

// What rclone and the recipe score is a finding (npm run grade:known); these tests prove that --intercept
// grades a client as it ships exactly as the adapter path does, and that the run completes. Side by side:
// the recipe's runs mostly wait on the server's slow answers, and no rule asserted here is about timing.
describe('clients graded as they ship, through --intercept', { concurrency: true }, () => {
  test("the guide's recipe, graded end to end on UPLOAD_BASE_URL, and with Box's own URL intercepted: the same per-rule statuses", async () => {
    const [adapter, intercepted] = await Promise.all([runKit(known('guide-recipe')), runKit(known('guide-recipe-box-urls'))]);
    assertGradedEndToEnd(adapter);
    assert.ok(intercepted.report, intercepted.stderr);
    assert.deepEqual(statuses(intercepted.report), statuses(adapter.report));
    assert.equal(statuses(intercepted.report)['C-CREATE'], 'passed');
    const evidence = (await attachments(intercepted.reportDir, 'text/plain')).join('\n');
    assert.match(evidence, /own network namespace \(--intercept\) ---\nupload\.box\.com:443: answered by the simulated server/);
    // Every exchange of the intercepted run reached the simulated server as sent to Box's upload host.
    for (const body of await attachments(intercepted.reportDir, CLIENT_RUN_MEDIA_TYPE)) {
      for (const exchange of (JSON.parse(body) as { exchanges: { url: string }[] }).exchanges) assert.match(exchange.url, /^\/api\/2\.0\//);
    }
  });

  test("Box's Node SDKs on Box's own hosts, in their namespace: they open the session and send every part's digest as direct", async () => {
    const runs = await Promise.all(
      ['box-node-sdk-box-hosts', 'box-node-sdk-legacy-box-hosts'].map((id) => runKit([...known(id), '--tags', '@C-CREATE or @C-DIGEST'])),
    );
    for (const { report, stderr } of runs) {
      assert.ok(report, stderr);
      assert.deepEqual(
        report.rules.filter((rule) => rule.status !== 'skipped').map((rule) => [rule.id, rule.status]),
        [
          ['C-CREATE', 'passed'],
          ['C-DIGEST', 'passed'],
        ],
      );
    }
  });

  test('rclone, configured by environment only, is graded end to end: every client rule judged', async () => {
    const outcome = await runKit(known('rclone'));
    assertGradedEndToEnd(outcome);
    const { reportDir } = outcome;
    const runs = (await attachments(reportDir, CLIENT_RUN_MEDIA_TYPE)).map((body) => JSON.parse(body) as { setup: { partSize: number } });
    assert.ok(runs.length > 0 && runs.every((run) => run.setup.partSize === 16777216));
    // rclone asked Box's API host before uploading (a folder listing, the preflight check), through the proxy.
    const evidence = (await attachments(reportDir, 'text/plain')).join('\n');
    assert.match(evidence, /\napi\.box\.com:443: answered by the simulated server/);
    // The token rclone was configured with is nowhere in the reports.
    for (const file of await readdir(reportDir)) assert.doesNotMatch(await readFile(join(reportDir, file), 'utf8'), /access_token/, file);
  });
});

/** Why a Python client test cannot run here, if it cannot: /usr/bin/python3 without requests. */
function pythonRequestsMissing(): string | undefined {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import requests'], { stdio: 'ignore' });
  return probe.status === 0 ? undefined : '/usr/bin/python3 with requests is needed (Debian: apt-get install python3-requests)';
}

describe('a dropped connection, direct and through --intercept', () => {
  // In its own namespace the client meets a drop as it does direct. Through the proxy it meets the reset as it would
  // Box's behind any proxy: Python's TLS reads a reset as the end of the stream, and urllib3 1.26 reports a failed
  // proxied connection as a ProxyError; an uploader that retries requests' ConnectionError (ProxyError and SSLError
  // are ones) retries the drop all three ways.
  test(
    'a Python requests uploader that retries dropped parts gets the same statuses direct, in its namespace and through the proxy',
    { skip: pythonRequestsMissing() },
    async () => {
      const args = ['--client', '/usr/bin/python3 test/fixtures/clients/requests-client.py', '--tags', '@C-DIGEST or @C-RETRY or @C-RECOVER-STORED'];
      const [direct, namespace, proxy] = await Promise.all([runKit(args), runKit([...args, '--intercept']), runKit([...args, '--intercept-via', 'proxy'])]);
      assert.ok(direct.report, direct.stderr);
      assert.equal(statuses(direct.report)['C-RETRY'], 'passed', direct.report.rules.find((rule) => rule.id === 'C-RETRY')?.evidence);
      for (const intercepted of [namespace, proxy]) {
        assert.ok(intercepted.report, intercepted.stderr);
        assert.deepEqual(statuses(intercepted.report), statuses(direct.report));
      }
      assert.match(
        (await attachments(proxy.reportDir, 'text/plain')).join('\n'),
        /through the proxy \(--intercept\) ---\nCONNECT upload\.box\.com:443: answered/,
      );
    },
  );
});

describe('--intercept: what the kit says when the client does not come through', () => {
  test("a client that calls another host: in its namespace, a kit error naming Box's hosts, exit 2", async () => {
    const { code, stderr } = await runKit([
      '--client',
      'curl -sS -X POST https://upload.example.com/api/2.0/files/upload_sessions',
      '--intercept',
      '--tags',
      '@C-CREATE',
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /the kit could not run: the client made no request to Box's hosts \(upload\.box\.com and api\.box\.com/);
    assert.match(stderr, /Could not resolve host: upload\.example\.com/);
  });

  test('a client that ignores the proxy: a kit error asking whether it honours HTTPS_PROXY, exit 2', async () => {
    // curl told to go around any proxy, and to a closed loopback port instead of Box: nothing leaves the machine.
    const { code, stderr } = await runKit([
      '--client',
      "curl -sS --noproxy '*' --connect-to ::127.0.0.1:9 -X POST https://upload.box.com/api/2.0/files/upload_sessions",
      '--intercept-via',
      'proxy',
      '--tags',
      '@C-CREATE',
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /the kit could not run: the client made no request through the proxy; does it honour HTTPS_PROXY\?/);
  });

  test('a client that rejects the kit certificate: the same kit error, naming the TLS alert it sent', async () => {
    const { code, stderr } = await runKit([
      '--client',
      'env -u CURL_CA_BUNDLE -u SSL_CERT_FILE bash clients/guide-recipe-box-urls.sh',
      '--intercept-via',
      'proxy',
      '--tags',
      '@C-CREATE',
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /the client made no request through the proxy; does it honour HTTPS_PROXY\? .*TLS alert unknown_ca/);
  });
});

describe('--part-size', () => {
  test("every scenario's file is described in parts of it", async () => {
    const { code, reportDir, stderr } = await runKit(['--client', MINIMAL_CLIENT, '--part-size', '3000', '--tags', '@C-RANGE-UPPER']);
    assert.equal(code, 0, stderr);
    const runs = (await attachments(reportDir, CLIENT_RUN_MEDIA_TYPE)).map(
      (body) => JSON.parse(body) as { setup: { partSize: number; fileSize: number; faults: unknown[] } },
    );
    assert.deepEqual(
      runs.map(({ setup }) => ({ partSize: setup.partSize, fileSize: setup.fileSize, faults: setup.faults })).sort((a, b) => a.fileSize - b.fileSize),
      [
        { partSize: 3000, fileSize: 1000, faults: [] },
        { partSize: 3000, fileSize: 3 * 3000 + 1, faults: [] },
        { partSize: 3000, fileSize: 4 * 3000, faults: [] },
      ],
    );
  });

  test('bad values and bad company: one line saying what to do, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--client', MINIMAL_CLIENT, '--part-size', '1000'], /--part-size takes a whole number of at least 1024/],
      [['--client', MINIMAL_CLIENT, '--part-size', '1MiB'], /--part-size takes a whole number/],
      [['--client', MINIMAL_CLIENT, '--part-size', String(256 * 1024 * 1024)], /--part-size takes 1024 to 134217728 bytes/],
      [['--replay', 'nowhere', '--part-size', '2048'], /--part-size sets the part size of client runs/],
      [['--intercept'], /--intercept runs a --client command/],
    ];
    const outcomes = await Promise.all(cases.map(([args]) => runKit(args)));
    cases.forEach(([args, message], index) => {
      const { code, stderr } = outcomes[index] ?? { code: null, stderr: '' };
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message, args.join(' '));
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    });
  });
});
