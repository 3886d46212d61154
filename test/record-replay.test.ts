import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ConformanceReport } from '../src/grader/reports.ts';
import { MINIMAL_SERVER, MINIMAL_SERVER_ARGS, runKit, startServerProcess } from './support/kit.ts';

const TOKEN = 'record-secret-93b1c2';
const statuses = (report: ConformanceReport | undefined) => Object.fromEntries((report?.rules ?? []).map((rule) => [rule.id, rule.status]));

async function everyFileUnder(dirs: string[]): Promise<string> {
  let all = '';
  for (const dir of dirs) for (const name of await readdir(dir, { recursive: true })) all += await readFile(join(dir, name), 'utf8').catch(() => '');
  return all;
}

/** Grades `server` live with --record, stops it, then grades the recording with --replay. */
async function recordThenReplay(serverArgs: string[]) {
  const recording = await mkdtemp(join(tmpdir(), 'kit-recording-'));
  const server = await startServerProcess(serverArgs);
  let live;
  try {
    live = await runKit(['--server', server.baseUrl, '--token', TOKEN, '--record', recording]);
  } finally {
    await server.stop();
  }
  const replayed = await runKit(['--replay', recording]);
  return { recording, live, replayed };
}

describe('record a live run, replay it offline', { concurrency: true }, () => {
  test('the simulated server in another process: same per-rule results, and the token is nowhere', async () => {
    const { recording, live, replayed } = await recordThenReplay([
      '--no-warnings',
      '--import',
      './src/register.mjs',
      'src/cli/server.ts',
      '--token',
      TOKEN,
      // Small parts: listing past the default page of 100 parts then stores 101 of them, not 800 MB.
      '--part-size',
      '262144',
    ]);
    assert.equal(live.code, 0, live.stdout);
    assert.equal(live.report?.verdict, 'conformant');
    assert.equal(replayed.code, 0, replayed.stdout + replayed.stderr);
    assert.deepEqual(statuses(replayed.report), statuses(live.report));
    assert.match(replayed.report?.target.name ?? '', /replayed from/);
    const saved = JSON.parse(await readFile(join(recording, 'recording.json'), 'utf8')) as { provenance: Record<string, unknown>; exchanges: unknown[] };
    assert.ok(saved.provenance.recordedAt && saved.provenance.server && saved.provenance.kit);
    assert.ok(saved.exchanges.length > 50);
    const everything = (await everyFileUnder([recording, live.reportDir, replayed.reportDir])) + live.stdout + live.stderr + replayed.stdout + replayed.stderr;
    assert.ok(everything.length > 10_000);
    assert.equal(everything.includes(TOKEN), false, 'the token leaked into a recording, a report or the output');
  });

  test('a broken server: its failure replays as the same failure', async () => {
    const { live, replayed } = await recordThenReplay([MINIMAL_SERVER, '--token', TOKEN, ...MINIMAL_SERVER_ARGS, '--defect', 'no-digest-check']);
    assert.equal(live.report?.rules.find((rule) => rule.id === 'S-DIGEST-REJECT')?.status, 'failed');
    assert.deepEqual(statuses(replayed.report), statuses(live.report));
    assert.equal(replayed.code, 1);
  });

  test('a request the recording does not hold is a kit error naming it, not a pass', async () => {
    const { recording } = await recordThenReplay([MINIMAL_SERVER, '--token', TOKEN, ...MINIMAL_SERVER_ARGS]);
    const path = join(recording, 'recording.json');
    const saved = JSON.parse(await readFile(path, 'utf8')) as { exchanges: { request: { method: string } }[] };
    saved.exchanges.splice(
      saved.exchanges.findIndex((exchange) => exchange.request.method === 'PUT'),
      1,
    );
    await writeFile(path, JSON.stringify(saved));
    const replayed = await runKit(['--replay', recording]);
    assert.equal(replayed.code, 2);
    assert.match(
      replayed.stderr,
      /the recording holds no answer for PUT http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/files\/upload_sessions\/\w+ \(Content-Range: bytes \d+-\d+\/\d+\): the run asked something the recorded run did not/,
    );
  });
});
