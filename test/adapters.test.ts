import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commandClient } from '../src/adapters/command.ts';
import { ProcessTree } from '../src/adapters/process-tree.ts';
import { KNOWN_CLIENTS } from '../src/cli/known-clients.ts';
import { runKit } from './support/kit.ts';
import { assertGradedEndToEnd } from './support/real-clients.ts';

// What each real client scores is a finding (npm run grade:known), not an expectation: these tests
// prove that each adapter runs its client end to end under the kit and yields a complete report. Side by side:
// each run mostly waits on the server's delays and Retry-After.
describe('real clients through their adapters', { concurrency: true }, () => {
  // Those graded with kit options (--intercept: rclone, the recipe with Box's URL) are in intercept-clients.test.ts,
  // with the recipe on UPLOAD_BASE_URL (its run is the one the intercepted recipe is compared with), the Python
  // SDKs (on a short set of scenarios) in python-sdks.test.ts.
  const here = (known: (typeof KNOWN_CLIENTS)[number]) =>
    known.kitArgs === undefined && known.id !== 'guide-recipe' && !known.command.startsWith('/usr/bin/python3 ');
  for (const client of KNOWN_CLIENTS.filter(here)) {
    // 20 s a run: a client that hangs (the legacy SDK after a part stored despite its 500) is killed sooner than at the default 60 s.
    test(`${client.name}: graded end to end, every client rule judged`, async () => {
      assertGradedEndToEnd(await runKit(['--client', client.command, '--timeout', '20']));
    });
  }

  // The legacy SDK's promise never settles after a part stored despite its 500 and a 416 on its retry: in an
  // application that awaits it, a hang. Node alone would end the adapter with exit 13 (an unsettled top-level
  // await), an exit code the SDK never chose; the adapter keeps the process alive, so the kit kills it. 10 s: long
  // enough that, beside the other runs, the SDK reaches the hang before the kill (at 3 s a loaded machine killed it sooner).
  test('an SDK promise that never settles is a hang, killed at --timeout, not an exit code of the adapter', async () => {
    const { report, stderr } = await runKit(['--client', 'node clients/box-node-sdk-legacy.mjs', '--tags', '@C-RECOVER-STORED', '--timeout', '10']);
    const rule = report?.rules.find((candidate) => candidate.id === 'C-RECOVER-STORED');
    assert.equal(rule?.status, 'failed', stderr);
    assert.match(rule.evidence, /was killed at the timeout/);
    assert.doesNotMatch(rule.evidence, /exited 13/);
  });
});

// A client's processes end with its run, wherever they moved: a grandchild that calls setsid (its own
// session and process group, re-parented to init once its parent dies) and holds stdout open.
describe('client runs contained', async () => {
  const probe = await ProcessTree.create();
  const cgroupAvailable = probe.containment === 'cgroup';
  await probe.dispose();

  /** Alive means in the process table and not a zombie (init here does not always reap). */
  const isAlive = (pid: number): boolean => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !/^[ZXx]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
    } catch {
      return false;
    }
  };
  const job = (timeoutMs: number) => ({
    baseUrl: 'http://127.0.0.1:9/api/2.0',
    token: 'token',
    file: '/dev/null',
    fileName: 'f.bin',
    folderId: '0',
    timeoutMs,
  });
  /**
   * Runs a shell client whose grandchild leaves the session (setsid, optionally through `env -i`) and
   * sleeps 600 s with stdout and stderr open, then `then`; asserts that afterwards no process of the tree
   * is alive, by the pids each process wrote itself.
   */
  const runEscaping = async (options: { then: string; timeoutMs: number; cgroup: boolean; clearEnv?: boolean }) => {
    const dir = await mkdtemp(join(tmpdir(), 'contained-'));
    try {
      const command =
        `echo $$ > ${dir}/client.pid; ${options.clearEnv ? 'env -i ' : ''}setsid sh -c 'echo $$ > ${dir}/grandchild.pid; sleep 600 & echo $! > ${dir}/great-grandchild.pid; wait' & ` +
        `while [ ! -s ${dir}/great-grandchild.pid ]; do sleep 0.05; done; echo started; ${options.then}`;
      const outcome = await commandClient(command, { cgroup: options.cgroup }).upload(job(options.timeoutMs));
      const pids = await Promise.all(
        ['client', 'grandchild', 'great-grandchild'].map(async (name) => Number((await readFile(join(dir, `${name}.pid`), 'utf8')).trim())),
      );
      assert.deepEqual(
        pids.filter((pid) => isAlive(pid)),
        [],
        `still alive of ${pids.join(', ')}`,
      );
      return outcome;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const modes = [{ name: 'proc', cgroup: false }, ...(process.platform === 'linux' && cgroupAvailable ? [{ name: 'cgroup', cgroup: true }] : [])];
  for (const mode of modes) {
    test(
      `(${mode.name}) a timed-out client with a setsid grandchild holding stdout ends at the timeout, its whole tree with it`,
      { timeout: 60_000 },
      async () => {
        const outcome = await runEscaping({ then: 'sleep 600', timeoutMs: 2_000, cgroup: mode.cgroup });
        assert.equal(outcome.timedOut, true);
        assert.equal(outcome.exitCode, null);
        assert.equal(outcome.stdout, 'started\n');
        // At the timeout (2 s), not when the grandchild's 600 s sleep ends; SIGTERM ends this tree at once.
        assert.ok(outcome.durationMs >= 2_000 && outcome.durationMs < 2_000 + 5_000, `the run took ${outcome.durationMs} ms`);
      },
    );

    test(`(${mode.name}) a client that exits 0 leaving a daemonised grandchild on its pipes ends when it exits`, { timeout: 60_000 }, async () => {
      const outcome = await runEscaping({ then: 'echo committed', timeoutMs: 60_000, cgroup: mode.cgroup });
      assert.equal(outcome.timedOut, false);
      assert.equal(outcome.exitCode, 0);
      assert.equal(outcome.stdout, 'started\ncommitted\n');
      assert.ok(outcome.durationMs < 10_000, `the run took ${outcome.durationMs} ms`);
      assert.equal(outcome.leftRunning, 2, 'the setsid grandchild and its child were left running');
      assert.match(outcome.stderr, /the kit ended 2 process\(es\) the client command left running/);
    });
  }

  test('(proc) a grandchild that clears its environment and leaves the session is still found by its ancestry', { timeout: 60_000 }, async () => {
    // Without a cgroup or the marker, only the parent links sampled every 200 ms know it: the client lives
    // a second after starting it (a daemon whose parent exits sooner than one sample is the /proc net's limit).
    const outcome = await runEscaping({ then: 'sleep 1; echo done', timeoutMs: 60_000, cgroup: false, clearEnv: true });
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.leftRunning, 2);
  });
});
