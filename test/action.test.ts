// action.yml, run step by step as GitHub's runner would (test/support/composite-action.ts) from the kit's
// packed files, against an SDK workspace that brings its own client: the inputs reach the kit, the rule
// table reaches the job summary, and the kit's exit code is the job's.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, startServerProcess } from './support/kit.ts';
import { type ActionRun, type CompositeAction, readAction, runCompositeAction } from './support/composite-action.ts';
import { offlineEnv, packKit, run } from './support/package.ts';

const INSTALL_STEP = 'Install the kit';

describe('the GitHub Action (action.yml)', { timeout: 300_000 }, () => {
  let action: CompositeAction;
  let base: string;
  let actionPath: string;
  let runs = 0;
  let installed = false;

  before(async () => {
    action = await readAction(join(ROOT, 'action.yml'));
    base = await mkdtemp(join(tmpdir(), 'kit-action-'));
    // What the runner checks out as the action's directory: the kit's files, its lock file and action.yml.
    const tarball = await packKit(base);
    const unpacked = await run('tar', ['xzf', tarball, '-C', base], { cwd: base });
    assert.equal(unpacked.code, 0, unpacked.stderr);
    actionPath = join(base, 'package');
    await copyFile(join(ROOT, 'package-lock.json'), join(actionPath, 'package-lock.json'));
    await copyFile(join(ROOT, 'action.yml'), join(actionPath, 'action.yml'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  /**
   * A fresh workspace holding the SDK's client (and `files`), and the action run in it. The first run
   * installs the kit in the action's directory; later runs find it installed and skip that step.
   */
  async function runAction(inputs: Record<string, string>, files: Record<string, string> = {}): Promise<ActionRun & { workspace: string }> {
    const workspace = join(base, `workspace-${++runs}`);
    await mkdir(workspace);
    await copyFile(join(ROOT, 'test/fixtures/clients/minimal-client.mjs'), join(workspace, 'upload.mjs'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(workspace, name), text);
    const result = await runCompositeAction({ action, actionPath, workspace, inputs, env: offlineEnv(), skipSteps: installed ? [INSTALL_STEP] : [] });
    installed ||= result.steps.find((step) => step.name === INSTALL_STEP)?.code === 0;
    return { ...result, workspace };
  }
  const log = (result: ActionRun) => result.steps.map((step) => `## ${step.name} (${step.code})\n${step.stdout}${step.stderr}`).join('\n');

  test('takes the documented inputs, sets up Node and uploads the reports with the actions GitHub provides, and splices no input into a script', () => {
    assert.deepEqual(Object.keys(action.inputs).sort(), [
      'args',
      'artifact-name',
      'client',
      'expect-failures',
      'node-version',
      'report-dir',
      'server',
      'strict',
      'token',
    ]);
    assert.deepEqual(
      action.runs.steps.filter((step) => step.uses).map((step) => step.uses?.split('@')[0]),
      ['actions/setup-node', 'actions/upload-artifact'],
    );
    for (const step of action.runs.steps.filter((entry) => entry.run !== undefined))
      assert.doesNotMatch(step.run ?? '', /\$\{\{/, `${step.name} expands an expression in its script`);
  });

  test('grades the workspace’s client with pass-through args, puts conformance.md in the job summary and the verdict in the outputs', async () => {
    const result = await runAction({ client: 'node upload.mjs', args: `--tags "@C-CREATE or @C-PART-SIZE" --timeout 30` });
    assert.equal(result.exitCode, 0, log(result));
    assert.equal(result.steps.find((step) => step.name === INSTALL_STEP)?.code, 0, 'the kit was not installed by the action');
    assert.ok((await readdir(join(actionPath, 'node_modules'))).includes('@cucumber'));
    const markdown = await readFile(join(result.workspace, 'conformance-reports', 'conformance.md'), 'utf8');
    assert.match(markdown, /^# Chunked upload conformance: conformant\n/);
    assert.equal(result.summary, markdown);
    assert.deepEqual(result.outputs, { verdict: 'conformant', 'exit-code': '0' });
    const report = JSON.parse(await readFile(join(result.workspace, 'conformance-reports', 'conformance.json'), 'utf8')) as {
      rules: { id: string; status: string }[];
    };
    assert.deepEqual(
      report.rules.filter((rule) => rule.status === 'passed').map((rule) => rule.id),
      ['C-CREATE', 'C-PART-SIZE'],
    );
  });

  test('strict: a SHOULD failure fails the job with the kit’s exit code 1, and the summary is written all the same', async () => {
    const result = await runAction({ client: 'node upload.mjs --defect text-content-type', strict: 'true', args: '--tags @C-CONTENT-TYPE' });
    assert.equal(result.exitCode, 1, log(result));
    assert.equal(result.steps.find((step) => step.name === 'Grade')?.code, 1);
    assert.match(result.summary, /^# Chunked upload conformance: conformant-with-warnings\n/);
    assert.match(result.summary, /C-CONTENT-TYPE.*failed/);
    assert.deepEqual(result.outputs, { verdict: 'conformant-with-warnings', 'exit-code': '1' });
  });

  test('expect-failures and report-dir: a listed MUST failure does not gate, and the reports go where report-dir says', async () => {
    const result = await runAction(
      { client: 'node upload.mjs --defect hex-digest', 'expect-failures': 'known-deviations.txt', 'report-dir': 'out/conformance', args: '--tags @C-DIGEST' },
      { 'known-deviations.txt': 'C-DIGEST  # base64 of the hex digest, until #12\n' },
    );
    assert.equal(result.exitCode, 0, log(result));
    assert.deepEqual(result.outputs, { verdict: 'non-conformant', 'exit-code': '0' });
    assert.match(result.summary, /C-DIGEST.*failed \(known deviation\)/);
    assert.deepEqual((await readdir(join(result.workspace, 'out', 'conformance'))).includes('conformance.json'), true);
  });

  test('server and token: grades a server, with the token kept out of the log, the summary and the reports', async () => {
    const token = `secret-${Math.random().toString(36).slice(2)}`;
    const server = await startServerProcess(['--no-warnings', '--import', './src/register.mjs', 'src/cli/server.ts', '--port', '0', '--token', token]);
    try {
      const result = await runAction({ server: server.baseUrl, token, args: '--tags @S-CREATE' });
      assert.equal(result.exitCode, 0, log(result));
      assert.deepEqual(result.outputs, { verdict: 'conformant', 'exit-code': '0' });
      assert.match(result.summary, /Target \(server\)/);
      const reports = join(result.workspace, 'conformance-reports');
      for (const name of await readdir(reports)) assert.ok(!(await readFile(join(reports, name), 'utf8')).includes(token), `the token is in ${name}`);
      assert.ok(!log(result).includes(token) && !result.summary.includes(token), 'the token is in the log or the summary');
    } finally {
      await server.stop();
    }
  });

  test('a kit that cannot run fails the job with exit 2, and the summary says so', async () => {
    const result = await runAction({ client: 'node upload.mjs', args: '--no-such-option' });
    assert.equal(result.exitCode, 2, log(result));
    assert.match(result.steps.find((step) => step.name === 'Grade')?.stderr ?? '', /Unknown option '--no-such-option'/);
    assert.match(result.summary, /the kit could not run/);
    assert.deepEqual(result.outputs, { verdict: '', 'exit-code': '2' });
  });

  test('a strict input that is neither true nor false is a usage error, exit 2', async () => {
    const result = await runAction({ client: 'node upload.mjs', strict: 'yes' });
    assert.equal(result.exitCode, 2, log(result));
    assert.match(result.steps.find((step) => step.name === 'Grade')?.stdout ?? '', /::error::strict takes 'true' or 'false', got 'yes'/);
  });
});
