import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { writeSeededFile } from '../src/kit/source-file.ts';
import { ROOT } from './support/kit.ts';

const NODE_ARGS = ['--no-warnings', '--import', './src/register.mjs'];

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...NODE_ARGS, script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run server and npm run upload, as separate processes', () => {
  let server: ChildProcess;
  let baseUrl = '';
  let origin = '';

  before(async () => {
    server = spawn(
      process.execPath,
      [...NODE_ARGS, 'src/cli/server.ts', '--port', '0', '--token', 'cli-secret', '--part-size', '1048576', '--min-file-size', '1'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    baseUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    origin = new URL(baseUrl).origin;
  });
  after(() => {
    server.kill('SIGTERM');
  });

  test('the server prints its API base URL on 127.0.0.1 and answers GET /', async () => {
    assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/2\.0$/);
    assert.equal((await fetch(`${origin}/`)).status, 200);
  });

  test('the uploader uploads a file of several parts and the server stores it byte for byte', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'cli-upload-')), 'three-and-a-bit.bin');
    const { sha1 } = await writeSeededFile(file, 3 * 1048576 + 17, 'cli');
    const { code, stdout, stderr } = await run('src/cli/upload.ts', [file, '--base-url', baseUrl, '--folder', '0', '--quiet'], { BOX_TOKEN: 'cli-secret' });
    assert.equal(code, 0, stderr);
    const entry = JSON.parse(stdout) as { id: string; sha1: string; size: number; name: string };
    assert.deepEqual([entry.name, entry.size, entry.sha1], ['three-and-a-bit.bin', 3 * 1048576 + 17, sha1]);
    const stored = (await (await fetch(`${origin}/_control/files/${entry.id}`)).json()) as { sha1: string };
    assert.equal(stored.sha1, sha1);
    assert.doesNotMatch(stdout + stderr, /cli-secret/);
  });

  test('a wrong token fails the upload with exit 1 and the server says 401', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'cli-upload-')), 'small.bin');
    await writeSeededFile(file, 1000, 'cli');
    const { code, stderr } = await run('src/cli/upload.ts', [file, '--base-url', baseUrl, '--token', 'not-it', '--quiet']);
    assert.equal(code, 1);
    assert.match(stderr, /401/);
    assert.doesNotMatch(stderr, /not-it/);
  });

  for (const [script, args] of [
    ['src/cli/upload.ts', ['/no/such/file', '--base-url', 'http://127.0.0.1:1/api/2.0', '--token', 't']],
    ['src/cli/upload.ts', ['package.json', '--base-url', 'http://127.0.0.1:1/api/2.0', '--token', 't', '--concurrency', '9']],
    ['src/cli/upload.ts', ['--nope']],
    ['src/cli/server.ts', ['--port', 'eighty']],
    ['src/cli/server.ts', ['--part-size', '0']],
    ['src/cli/conformance.ts', ['--large', '--replay', 'recordings/none']],
  ] as const) {
    test(`${script.split('/').at(-1)} ${args.join(' ')}: one line saying what to do, exit 2`, async () => {
      const { code, stderr } = await run(script, [...args]);
      assert.equal(code, 2);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /--help/);
    });
  }

  test('a busy port is a clear error, exit 2', async () => {
    const { code, stderr } = await run('src/cli/server.ts', ['--port', new URL(baseUrl).port]);
    assert.equal(code, 2);
    assert.match(stderr, /port \d+ is already in use/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  });
});
