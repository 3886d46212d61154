// A failed rule's reproduction (conformance.json's `reproduction`): the server one never holds a token, and
// the client one, replayed in a shell outside the kit, shows the same failure.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type ServerReproductionRequest, rerunCommand, serverReproduction, shellQuote } from '../src/grader/reproduction.ts';
import { MINIMAL_CLIENT, MINIMAL_SERVER, MINIMAL_SERVER_ARGS, ROOT, runKit, startServerProcess } from './support/kit.ts';

const TOKEN = 's3cret-token-4f1d';

describe('server reproductions', () => {
  const requests: ServerReproductionRequest[] = [
    {
      method: 'POST',
      url: `https://upload.example.test/api/2.0/files/upload_sessions?x=${TOKEN}`,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: { kind: 'json', text: `{"folder_id":"0","file_name":"it's.bin","file_size":3000}` },
      expected: '201 and an upload_session',
      answered: '201',
    },
    {
      method: 'PUT',
      url: 'https://upload.example.test/api/2.0/files/upload_sessions/ABC',
      headers: { authorization: 'Bearer <redacted>', 'content-range': 'bytes 0-1023/3000', digest: 'sha=AAAA' },
      body: { kind: 'bytes', length: 1024, sha1: 'a'.repeat(40), how: 'bytes 0-1023 of the seeded file for seed "x:3000"' },
      expected: 'a 4xx (S-DIGEST-REJECT)',
      answered: `200 {"token":"${TOKEN}"}`,
    },
    {
      method: 'GET',
      url: 'https://upload.example.test/api/2.0/files/upload_sessions/ABC',
      headers: { authorization: 'Bearer wrong-token' },
      body: { kind: 'none' },
      expected: '401',
      answered: '200',
      credentials: 'wrong',
    },
  ];

  test('curl lines carry "$TOKEN", never the token, even where the token leaked into a URL or an answer', () => {
    const steps = serverReproduction(requests, [TOKEN]);
    const text = JSON.stringify(steps);
    assert.ok(!text.includes(TOKEN), text);
    assert.ok(!text.includes('<redacted>'), 'a scrubbed header is given as $TOKEN, not as the placeholder it was recorded with');
    assert.match(
      steps[0]?.curl ?? '',
      /^curl -sS -i -X POST '[^']+' -H "Authorization: Bearer \$TOKEN" -H 'content-type: application\/json' --data-raw '\{.*it'\\''s\.bin.*\}'$/,
    );
    assert.match(steps[1]?.curl ?? '', /^# step-2\.bin: 1024 bytes, SHA-1 a{40}: bytes 0-1023 .*\ncurl .* -H 'digest: sha=AAAA' --data-binary @step-2\.bin$/);
    // A wrong token is the kit's own invention: kept as sent, so the 401 the rule wants can be seen.
    assert.match(steps[2]?.curl ?? '', /-H 'authorization: Bearer wrong-token'$/);
    assert.deepEqual(
      steps.map((step) => [step.expected, step.answered]),
      [
        ['201 and an upload_session', '201'],
        ['a 4xx (S-DIGEST-REJECT)', '200 {"token":"$TOKEN"}'],
        ['401', '200'],
      ],
    );
  });

  test('the rerun of a server rule names the server and "$TOKEN", never the token', () => {
    const rerun = rerunCommand(
      { id: 'S-AUTH', side: 'server' },
      {
        installed: true,
        serverScript: 'bin/box-upload-server.mjs',
        server: { kind: 'remote', baseUrl: 'https://upload.example.test/api/2.0', folderId: '12' },
        secrets: [TOKEN],
      },
    );
    assert.equal(rerun, `npx box-upload-conformance --server https://upload.example.test/api/2.0 --token "$TOKEN" --folder 12 --tags @S-AUTH`);
  });

  test('the rerun of a generated case replays its fast-check seed and runs', () => {
    const rerun = rerunCommand(
      { id: 'C-PART-SIZE', side: 'client' },
      {
        installed: false,
        serverScript: 'bin/box-upload-server.mjs',
        clientCommand: 'python3 up.py',
        partSize: 2048,
        server: { kind: 'embedded' },
        secrets: [],
      },
      { message: 'in the smallest case found, …: an empty part (fast-check seed 42, 12 runs, shrunk 1 times; replay with --seed 42 --runs 12)' },
    );
    assert.equal(rerun, `npm run conformance -- --client 'python3 up.py' --part-size 2048 --seed 42 --runs 12 --tags @C-PART-SIZE`);
  });

  test('shell quoting survives quotes', () => {
    assert.equal(shellQuote(`a b'c`), `'a b'\\''c'`);
    assert.equal(shellQuote('plain-1.0'), 'plain-1.0');
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  await new Promise((closed) => server.close(closed));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Runs a script with bash in its own process group, from the kit's root; the group is ended afterwards. */
async function bash(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], { cwd: ROOT, detached: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const closed = new Promise((done) => child.on('close', done));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  try {
    // Whatever the script left running (a server it could not stop) holds its output open.
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
  } catch {
    // The group has ended already.
  }
  await closed;
  return { code, stdout, stderr };
}

describe('a client reproduction, replayed in a shell outside the kit', { timeout: 240_000 }, () => {
  test('the broken client meets the same refusal, and the rerun command fails the same rule', async () => {
    const client = `${MINIMAL_CLIENT} --defect hex-digest`;
    const { report, stderr, stdout } = await runKit(['--client', client, '--tags', '@C-DIGEST']);
    const rule = report?.rules.find((candidate) => candidate.id === 'C-DIGEST');
    assert.equal(rule?.status, 'failed', stderr);
    const reproduction = rule?.reproduction;
    assert.ok(reproduction?.commands && reproduction.situation, JSON.stringify(rule));
    assert.equal(reproduction.situation.client, client);
    assert.ok(stdout.includes(`  C-DIGEST: ${reproduction.rerun}\n`), `the console does not name the rerun command:\n${stdout}`);
    const [observed] = reproduction.observed;
    const digest = /digest: (sha=[0-9a-f]{40})/.exec(observed ?? '')?.[1];
    assert.ok(digest, `the observed line names the hex digest: ${observed}`);
    assert.match(observed ?? '', /→ 400 bad_digest$/);

    const dir = await mkdtemp(join(tmpdir(), 'kit-repro-'));
    try {
      // From the kit's root, as the kit ran; the file is made in the working directory.
      const replay = await bash(reproduction.commands.join('\n'), { PORT: String(await freePort()) });
      assert.equal(replay.code, 0, replay.stderr);
      assert.match(replay.stdout, /client exit code: [1-9]/);
      const traffic = JSON.parse(replay.stdout.split('\n').find((line) => line.startsWith('{"exchanges"')) ?? '{}') as {
        exchanges?: { method: string; status: number; requestHeaders: Record<string, string>; responseBody?: { code?: string } }[];
      };
      const same = traffic.exchanges?.find((exchange) => exchange.requestHeaders.digest === digest);
      assert.ok(same, `the replayed client did not send ${digest}: ${replay.stdout.slice(0, 2000)}`);
      assert.equal(same.status, 400);
      assert.equal(same.responseBody?.code, 'bad_digest');

      const rerun = await bash(`${reproduction.rerun} --report-dir ${shellQuote(dir)}`);
      assert.equal(rerun.code, 1, rerun.stderr);
      assert.match(rerun.stdout, /failed\s+C-DIGEST\s+MUST/);
      const rerunReport = JSON.parse(await readFile(join(dir, 'conformance.json'), 'utf8')) as { rules: { id: string; status: string }[] };
      assert.deepEqual(
        rerunReport.rules.filter((candidate) => candidate.status === 'failed').map((candidate) => candidate.id),
        ['C-DIGEST'],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(join(ROOT, `repro-${reproduction.run}.bin`), { force: true });
    }
  });
});

describe('a server reproduction', { timeout: 240_000 }, () => {
  test('names the requests that broke the rule, never the token, and its rerun command fails the same rule', async () => {
    const token = 'minimal-token';
    const server = await startServerProcess([MINIMAL_SERVER, ...MINIMAL_SERVER_ARGS, '--token', token, '--defect', 'accepts-overlap']);
    const dir = await mkdtemp(join(tmpdir(), 'kit-repro-'));
    try {
      const { report, stderr } = await runKit(['--server', server.baseUrl, '--token', token, '--tags', '@S-OVERLAP-REJECT']);
      const rule = report?.rules.find((candidate) => candidate.id === 'S-OVERLAP-REJECT');
      assert.equal(rule?.status, 'failed', stderr);
      const reproduction = rule?.reproduction;
      assert.ok(reproduction, JSON.stringify(rule));
      assert.ok(!JSON.stringify(reproduction).includes(token), 'the token is in the reproduction');
      assert.match(reproduction.observed[0] ?? '', /^PUT .* \(Content-Range: bytes 0-\d+\/\d+\) → HTTP 200$/);
      assert.equal(reproduction.rerun, `npm run conformance -- --server ${server.baseUrl} --token "$TOKEN" --folder 0 --tags @S-OVERLAP-REJECT`);
      const rerun = await bash(`${reproduction.rerun} --report-dir ${shellQuote(dir)}`, { TOKEN: token });
      assert.equal(rerun.code, 1, rerun.stderr);
      assert.match(rerun.stdout, /failed\s+S-OVERLAP-REJECT\s+MUST/);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('its curl lines, run in bash with $TOKEN, get the same wrong answer from the server, and what the model expected beside it', async () => {
    const token = 'minimal-token';
    const server = await startServerProcess([MINIMAL_SERVER, ...MINIMAL_SERVER_ARGS, '--token', token, '--defect', 'accepts-empty-file-name']);
    try {
      const { report, stderr } = await runKit(['--server', server.baseUrl, '--token', token, '--tags', '@S-CREATE-REJECT']);
      const reproduction = report?.rules.find((candidate) => candidate.id === 'S-CREATE-REJECT')?.reproduction;
      assert.ok(reproduction?.steps, stderr);
      assert.ok(!JSON.stringify(reproduction).includes(token), 'the token is in the reproduction');
      const last = reproduction.steps.at(-1);
      assert.ok(last);
      assert.match(last.expected, /^400 \(S-CREATE-REJECT\)$/);
      assert.match(last.answered, /^HTTP 201/);
      assert.match(last.curl, /"file_name":""/);
      const replayed = await bash(last.curl, { TOKEN: token });
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stdout, /^HTTP\/1\.1 201 /, 'the same wrong answer, outside the kit');
    } finally {
      await server.stop();
    }
  });
});
