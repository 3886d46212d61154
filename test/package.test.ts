// The kit as an SDK team installs it: the packed tarball, installed offline as a dev dependency into an
// empty project that brings its own client, run through npx from that project.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLIENT_RULE_IDS } from '../src/protocol/rules.ts';
import { ROOT } from './support/kit.ts';
import { offlineEnv, packKit, run, writeProjectDependingOnKit } from './support/package.ts';
import { reportValidator } from './support/report-schema.ts';

const KIT = 'box-chunked-upload-conformance';

describe('the packed kit, installed as a dev dependency of an empty project', { timeout: 300_000 }, () => {
  let project: string;
  let files: string[];
  const env = offlineEnv();

  before(async () => {
    project = await mkdtemp(join(tmpdir(), 'kit-user-project-'));
    const tarball = await packKit(project);
    files = (await run('tar', ['tzf', tarball], { cwd: project })).stdout.split('\n').filter(Boolean);
    await copyFile(tarball, join(project, 'kit.tgz'));
    await rm(tarball);
    await writeProjectDependingOnKit(project, 'kit.tgz');
    const installed = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: project, env });
    assert.equal(installed.code, 0, `npm install --offline failed:\n${installed.stderr}`);
    // The SDK's own uploader, in the SDK's project.
    await copyFile(join(ROOT, 'test/fixtures/clients/minimal-client.mjs'), join(project, 'my-client.mjs'));
  });
  after(() => rm(project, { recursive: true, force: true }));

  test('ships the commands, the sources, the features, the step definitions, the schemas and the specification, and nothing of the repository besides', () => {
    for (const file of [
      'package/bin/box-upload-conformance.mjs',
      'package/bin/box-upload-server.mjs',
      'package/src/register.mjs',
      'package/src/cli/conformance.ts',
      'package/features/client/01-session-and-auth.feature',
      'package/features/server/01-create.feature',
      'package/steps/client.steps.ts',
      'package/schema/conformance.schema.json',
      'package/schema/rules.json',
      'package/docs/spec.html',
      'package/docs/spec.md',
    ])
      assert.ok(files.includes(file), `${file} is not in the package`);
    // Of docs/, only the specification (npm run spec) ships.
    const stray = files.filter(
      (file) =>
        (/^package\/(test|clients|bench|docs|reports|node_modules|\.ci)\//.test(file) && !/^package\/docs\/spec\.(html|md)$/.test(file)) ||
        file.endsWith('grade-known.ts'),
    );
    assert.deepEqual(stray, []);
  });

  test('installs none of the kit’s development tools (the Box SDKs graded by grade:known, the browser driver)', async () => {
    const installed = await readdir(join(project, 'node_modules'));
    for (const name of ['box-node-sdk', 'box-node-sdk-legacy', 'playwright-core', 'typescript', 'eslint'])
      assert.ok(!installed.includes(name), `${name} was installed`);
    assert.ok(installed.includes(KIT));
  });

  test('npx box-upload-conformance grades the project’s own client, and writes the reports to the project’s ./reports/', async () => {
    const graded = await run('npx', ['box-upload-conformance', '--client', 'node my-client.mjs'], { cwd: project, env });
    assert.equal(graded.code, 0, graded.stdout + graded.stderr);
    assert.match(graded.stdout, new RegExp(`${CLIENT_RULE_IDS.length} passed, 0 failed, 0 skipped, 0 blocked`));
    const report = JSON.parse(await readFile(join(project, 'reports', 'conformance.json'), 'utf8')) as { verdict: string; target: { name: string } };
    assert.equal(report.verdict, 'conformant');
    assert.equal(report.target.name, 'node my-client.mjs');
    // The schema the package ships describes the report it writes.
    assert.deepEqual(reportValidator(join(project, 'node_modules', KIT, 'schema', 'conformance.schema.json'))(report), []);
    for (const name of ['conformance.md', 'conformance.html', 'junit.xml', 'messages.ndjson'])
      assert.ok((await readFile(join(project, 'reports', name))).length > 0);
  });

  test('--report-dir is taken relative to the project, and a bad option names the npx command to ask for help', async () => {
    const graded = await run('npx', ['box-upload-conformance', '--client', 'node my-client.mjs', '--tags', '@C-CREATE', '--report-dir', 'out/conformance'], {
      cwd: project,
      env,
    });
    assert.equal(graded.code, 0, graded.stderr);
    assert.ok((await readFile(join(project, 'out', 'conformance', 'conformance.json'), 'utf8')).includes('"C-CREATE"'));
    const bad = await run('npx', ['box-upload-conformance', '--no-such-option'], { cwd: project, env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--no-such-option'\. Run "npx box-upload-conformance --help" for the options\./);
  });

  test('npx box-upload-server --port 0 prints its base URL and answers GET /', async () => {
    const server = spawn('npx', ['box-upload-server', '--port', '0', '--token', 'secret'], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stopped = new Promise((resolve) => server.once('close', resolve));
    try {
      const baseUrl = await new Promise<string>((resolve, reject) => {
        let seen = '';
        server.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes('\n')) resolve(seen.split('\n')[0] ?? '');
        });
        server.once('close', (code) => reject(new Error(`box-upload-server exited with ${code} before it listened`)));
      });
      assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/2\.0$/);
      const answer = await fetch(new URL('/', baseUrl));
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { name: 'box-upload-simulator', baseUrl });
      const unauthorized = await fetch(`${baseUrl}/files/upload_sessions`, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: '{}' });
      assert.equal(unauthorized.status, 401);
    } finally {
      // npx and the server it started: the whole process group.
      if (server.pid !== undefined && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
      await stopped;
    }
  });
});
