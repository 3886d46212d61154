// Section 2: faults of the server's own machine while upload sessions are live: its storage directory
// removed, a full disk (a small tmpfs, or a loop-mounted ext4 image, as --storage-dir), a read-only
// remount, and too few file descriptors (ulimit -n 1024) under 200 concurrent sessions. The server must
// answer the affected requests with a 5xx (507 for a full disk) in Box's error JSON, keep serving every
// other request, and leave a session whose part it could not store as if that part never arrived.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client, type Step, Upload } from './api.ts';
import { Counter, Invariants, type SectionResult, describeResult, mib } from './figures.ts';
import { ANSWER_INVARIANTS, judgeAnswer, judgeStep } from './judge.ts';
import { ServerProcess, crashSummary, filesUnder } from './server-process.ts';
import { exchange } from './wire.ts';

const run = promisify(execFile);

export const STORAGE_INVARIANTS = {
  ...ANSWER_INVARIANTS,
  crashes: 'server crashes',
  fullDisk507: 'full-disk failures answered with a status other than 507',
  othersRefused: 'requests needing no storage (status, list, new session) refused during the fault',
  phantomParts: 'sessions listing a part the server did not acknowledge',
  notCompleted: 'sessions with a refused part that could not be completed once the fault cleared',
  healthyFailed: 'a new upload after the fault cleared that failed',
  bytesLost: 'committed files whose content read back differs from the source',
  orphans: 'files left in the storage directory after every session was aborted and every file deleted',
} as const;

/** A small filesystem of its own, mounted for the server's storage. */
export interface SmallDisk {
  dir: string;
  /** What it is, for the figures: "tmpfs of 16 MiB" or "ext4 loop image of 16 MiB". */
  kind: string;
  remount(mode: 'ro' | 'rw'): Promise<void>;
  unmount(): Promise<void>;
}

/**
 * Mounts a `sizeMiB` filesystem at a new directory under `parent`: tmpfs, or where that is refused an
 * ext4 image on a loop device. Needs root (or CAP_SYS_ADMIN); resolves with the reason when neither works.
 */
export async function mountSmallDisk(parent: string, sizeMiB: number): Promise<SmallDisk | { unavailable: string }> {
  const dir = await mkdtemp(join(parent, 'disk-'));
  const remount = async (mode: 'ro' | 'rw') => {
    // A remount read-only is refused (EBUSY) while a file is open for writing: try again briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await run('mount', ['-o', `remount,${mode}`, dir]);
        return;
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const unmount = async () => {
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    await rm(dir, { recursive: true, force: true });
  };
  const reasons: string[] = [];
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
    return { dir, kind: `tmpfs of ${sizeMiB} MiB`, remount, unmount };
  } catch (error) {
    reasons.push(`mount -t tmpfs: ${firstLine(error)}`);
  }
  const image = `${dir}.img`;
  try {
    await run('truncate', ['-s', `${sizeMiB}M`, image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, dir]);
    return {
      dir,
      kind: `ext4 loop image of ${sizeMiB} MiB`,
      remount,
      unmount: async () => {
        await unmount();
        await rm(image, { force: true });
      },
    };
  } catch (error) {
    reasons.push(`ext4 loop image: ${firstLine(error)}`);
    await rm(image, { force: true });
    await rm(dir, { recursive: true, force: true });
    return { unavailable: `cannot mount a small filesystem here (needs root): ${reasons.join('; ')}` };
  }
}

function firstLine(error: unknown): string {
  const text = (error as { stderr?: string }).stderr || (error instanceof Error ? error.message : String(error));
  return text.trim().split('\n')[0] ?? '';
}

export interface StorageOptions {
  seed: number;
  sessions: number;
  partsPerSession: number;
  partSize: number;
  token: string;
  /** Where temporary storage directories and mount points go. */
  workDir: string;
  /** Size of the filesystem the full-disk scenario fills. */
  diskMiB: number;
  /** Sessions of the ulimit -n 1024 scenario: 200 × 4 parts need more descriptors than that. */
  ulimitSessions: number;
  /** More `npm run server` options (its budgets). */
  serverArgs?: string[];
  log?: (line: string) => void;
}

interface Scenario {
  title: string;
  storageDir: string;
  maxOpenFiles?: number;
  /** Parts each session sends before the fault (the rest after it). */
  partsBefore: number;
  /** Causes the fault, after `partsBefore`; absent when the fault is the load itself (ulimit). */
  breakStorage?: () => Promise<void>;
  /** Ends the fault; absent when it cannot be ended (the directory is gone). */
  repair?: () => Promise<void>;
  /** A full disk: storage failures must be 507. */
  fullDisk?: boolean;
  /** The server may drop connections at accept (out of descriptors). */
  mayDrop?: boolean;
  /** Hold every part request halfway until all are (sendRemainingParts). */
  holdBodies?: boolean;
  /** The committed file made before the fault can still be read during it. */
  fileReadableDuringFault: boolean;
  /** Count files left in the storage directory after clean-up. */
  checkOrphans: boolean;
}

/** The server process ended during a scenario: the rest of it would only measure a dead server. */
class ServerGone extends Error {}

/** How many descriptors a process has open now. */
async function openFiles(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
}

/**
 * Every remaining part of every session at once, each on its own connection. With `holdUntil`, each
 * request sends its headers and half its body, and the second halves go only once every request is that
 * far (or ended early) and the server holds `holdUntil.files` descriptors or answered one early: all
 * connections and all part files open in the server at the same moment (bounded by 10 s).
 */
async function sendRemainingParts(
  uploads: Upload[],
  address: { port: number; origin: string; token: string },
  observe: (step: Step) => void,
  holdUntil?: { pid: number; files: number },
): Promise<void> {
  const pending = uploads.flatMap((upload) => upload.missing().map((index) => ({ upload, index })));
  let arrived = 0;
  let endedEarly = false;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const arrive = () => {
    arrived += 1;
    if (arrived < pending.length || !holdUntil) return;
    void (async () => {
      const deadline = performance.now() + 10_000;
      while (!endedEarly && performance.now() < deadline && (await openFiles(holdUntil.pid)) < holdUntil.files) await sleep(20);
      release();
    })();
  };
  await Promise.all(
    pending.map(async ({ upload, index }) => {
      let counted = false;
      const halfway = () => {
        if (!counted) {
          counted = true;
          arrive();
        }
        return released;
      };
      const client = new Client(address, 10_000, holdUntil ? halfway : undefined);
      const own = new Upload(client, upload.fileName, upload.fileSize, upload.seed, observe, 1);
      own.session = upload.session;
      const put = await own.putPart(index);
      if (put.ok) upload.stored.set(index, own.stored.get(index));
      else if (!counted) endedEarly = true;
      // A request that ended before halfway (refused, answered early) must not hold the others back.
      void halfway();
      client.close();
    }),
  );
}

async function runScenario(options: StorageOptions, scenario: Scenario): Promise<SectionResult> {
  const log = options.log ?? (() => {});
  const invariants = new Invariants(Object.values(STORAGE_INVARIANTS));
  const before = new Counter();
  const during = new Counter();
  const after = new Counter();
  const server = await ServerProcess.start({
    token: options.token,
    partSize: options.partSize,
    storageDir: scenario.storageDir,
    maxOpenFiles: scenario.maxOpenFiles,
    extraArgs: options.serverArgs,
  });
  const address = { port: server.port, origin: server.origin, token: server.token };
  const fileSize = options.partsPerSession * options.partSize;
  const seed = (name: string) => `storage:${options.seed}:${scenario.title}:${name}`;
  const lines: string[] = [
    `${options.sessions} sessions × ${options.partsPerSession} parts of ${options.partSize / 1024} KiB; ${scenario.partsBefore} part(s) each before the fault`,
  ];
  let peak = 0;
  const rssTimer = setInterval(() => void server.samplePeakRss().then((value) => (peak = Math.max(peak, value))), 500);
  const stillAlive = async (phase: string) => {
    // The exit event can lag behind a burst of closed connections: ask the server itself first.
    const probe = await exchange(server.port, { method: 'GET', target: '/' }, { deadlineMs: 10_000 });
    if (probe.kind !== 'answer') await Promise.race([server.exited, sleep(5_000)]);
    if (server.alive) return;
    const exit = await server.exited;
    const last = crashSummary(exit.stderr);
    invariants.violate(STORAGE_INVARIANTS.crashes, { request: phase, answer: `the server exited ${exit.code ?? exit.signal}: ${last}` });
    throw new ServerGone(phase);
  };
  try {
    // A file committed before the fault.
    const keeper = new Upload(new Client(address), 'kept-before-the-fault.bin', fileSize, seed('kept'), judgeStep(invariants, before), 1);
    await keeper.create();
    for (const index of keeper.missing()) await keeper.putPart(index);
    await keeper.commit();
    keeper.client.close();

    // Sessions, each with its first parts stored.
    const beforeJudge = judgeStep(invariants, before, { mayClose: scenario.mayDrop, allow5xx: scenario.mayDrop });
    const uploads = Array.from(
      { length: options.sessions },
      (_, index) => new Upload(new Client(address), `session-${index}.bin`, fileSize, seed(String(index)), beforeJudge, 1),
    );
    await Promise.all(uploads.map((upload) => upload.create()));
    await Promise.all(
      uploads.map(async (upload) => {
        for (let index = 0; index < scenario.partsBefore && upload.session; index++) await upload.putPart(index);
        upload.client.close();
      }),
    );
    await stillAlive('before the fault');

    await scenario.breakStorage?.();
    const duringJudge = judgeStep(invariants, during, { allow5xx: true, mayClose: scenario.mayDrop });
    const started = performance.now();
    await sendRemainingParts(
      uploads,
      address,
      (step) => {
        duringJudge(step);
        if (scenario.fullDisk && step.result.kind === 'answer' && step.result.answer.status >= 500) {
          invariants.check(STORAGE_INVARIANTS.fullDisk507, step.result.answer.status === 507, () => ({
            request: step.request,
            answer: describeResult(step.result),
          }));
        }
      },
      scenario.holdBodies ? { pid: server.pid, files: (scenario.maxOpenFiles ?? 1024) - 8 } : undefined,
    );
    const faultSeconds = (performance.now() - started) / 1000;
    const refused = uploads.reduce((sum, upload) => sum + upload.missing().length, 0);
    await stillAlive('during the fault');

    // Requests needing no storage still answer during the fault, and no session lists a part it was refused.
    const probe = new Client(address);
    const othersJudge = judgeStep(invariants, during);
    const viewOf = (upload: Upload) => {
      const viewer = new Upload(probe, upload.fileName, upload.fileSize, upload.seed, othersJudge, 1);
      viewer.session = upload.session;
      viewer.fileId = upload.fileId;
      return viewer;
    };
    for (const upload of uploads.slice(0, 20)) {
      const status = await viewOf(upload).status();
      invariants.check(STORAGE_INVARIANTS.othersRefused, status.ok, () => ({ request: status.request, answer: describeResult(status.result) }));
    }
    for (const upload of uploads) {
      if (!upload.session) continue;
      const listed = await viewOf(upload).listedOffsets();
      const acknowledged = [...upload.stored.keys()].map((index) => index * options.partSize).sort((a, b) => a - b);
      invariants.check(STORAGE_INVARIANTS.phantomParts, listed !== undefined && listed.every((offset) => acknowledged.includes(offset)), () => ({
        request: `GET …/upload_sessions/${upload.session?.id}/parts`,
        answer: listed === undefined ? 'the listing failed' : `lists offsets ${listed.join(', ')}; acknowledged ${acknowledged.join(', ')}`,
      }));
    }
    const fresh = new Upload(probe, 'created-during-the-fault.bin', fileSize, seed('fresh'), othersJudge, 1);
    const created = await fresh.create();
    invariants.check(STORAGE_INVARIANTS.othersRefused, created.ok, () => ({ request: created.request, answer: describeResult(created.result) }));
    if (fresh.session) await fresh.abort();
    // The file committed before: readable (then identical) where the disk still holds it; otherwise the
    // read must still end (an error, or the connection closed), never hang.
    const reader = new Upload(probe, keeper.fileName, keeper.fileSize, keeper.seed, () => {}, 1);
    reader.session = keeper.session;
    reader.fileId = keeper.fileId;
    const content = await reader.readBack();
    judgeAnswer(invariants, during, `${content.step.request} (committed before the fault)`, content.step.result, {
      allow5xx: !scenario.fileReadableDuringFault,
      mayClose: !scenario.fileReadableDuringFault,
    });
    if (scenario.fileReadableDuringFault) {
      invariants.check(STORAGE_INVARIANTS.othersRefused, content.step.ok, () => ({
        request: content.step.request,
        answer: describeResult(content.step.result),
      }));
    }
    invariants.check(STORAGE_INVARIANTS.bytesLost, content.identical !== false, () => ({ request: content.step.request, answer: 'differs from the source' }));
    probe.close();
    await stillAlive('requests to other sessions during the fault');

    // The fault ends; sessions with refused parts send them again and commit.
    await scenario.repair?.();
    const recoverable = scenario.repair !== undefined;
    let completed = 0;
    let abortedForRoom = 0;
    const afterJudge = judgeStep(invariants, after, { allow5xx: !recoverable });
    const worker = new Client(address);
    // Sessions with every part stored go first (on a full disk they free their space when deleted).
    const ordered = [...uploads].sort((a, b) => a.missing().length - b.missing().length);
    for (const upload of ordered) {
      if (!upload.session) continue;
      const retry = new Upload(worker, upload.fileName, upload.fileSize, upload.seed, afterJudge, 3);
      retry.session = upload.session;
      for (const [index, record] of upload.stored) retry.stored.set(index, record);
      if (!recoverable) {
        await retry.abort();
        continue;
      }
      const hadRefusedPart = retry.missing().length > 0;
      let ok = true;
      for (const index of retry.missing()) ok = ok && (await retry.putPart(index)).ok;
      const committed = ok && (await retry.commit()).ok;
      if (committed) {
        const back = await retry.readBack();
        invariants.check(STORAGE_INVARIANTS.bytesLost, back.identical === true, () => ({
          request: back.step.request,
          answer: describeResult(back.step.result),
        }));
        await retry.deleteFile();
        if (hadRefusedPart) completed += 1;
      } else if (scenario.fullDisk) {
        // Still no room: this one makes room for the others.
        await retry.abort();
        abortedForRoom += 1;
      } else if (hadRefusedPart) {
        invariants.violate(STORAGE_INVARIANTS.notCompleted, {
          request: `session ${upload.session.id}`,
          answer: 'could not be completed after the fault cleared',
        });
      }
    }
    await stillAlive('completing the sessions after the fault');
    // The directory that was removed comes back (empty) before a new upload is tried.
    if (!recoverable) await mkdir(scenario.storageDir, { recursive: true });
    const healthy = new Upload(worker, 'after-the-fault.bin', fileSize, seed('after'), afterJudge, 1);
    let healthyOk = (await healthy.create()).ok;
    for (const index of healthy.missing()) healthyOk = healthyOk && (await healthy.putPart(index)).ok;
    healthyOk = healthyOk && (await healthy.commit()).ok;
    const healthyBack = healthyOk ? await healthy.readBack() : undefined;
    if (recoverable)
      invariants.check(STORAGE_INVARIANTS.healthyFailed, healthyOk && healthyBack?.identical === true, () => ({ request: 'a new upload', answer: 'failed' }));
    if (healthy.fileId) await healthy.deleteFile();
    if (keeper.fileId) await viewOf(keeper).deleteFile();
    worker.close();
    await stillAlive('after the fault');
    if (scenario.checkOrphans) {
      const left = await filesUnder(scenario.storageDir);
      invariants.check(STORAGE_INVARIANTS.orphans, left === 0, () => ({ request: 'abort every session, delete every file', answer: `${left} files remain` }));
    }
    lines.push(
      `before: ${before.format()}`,
      `during (${faultSeconds.toFixed(1)} s): ${during.format()}; parts refused: ${refused}`,
      `after: ${after.format()}; ${recoverable ? `sessions with a refused part completed: ${completed}${scenario.fullDisk ? `, aborted to make room: ${abortedForRoom}` : ''}` : 'sessions aborted'}`,
      `a new upload after the fault${recoverable ? '' : ' (directory recreated empty)'}: ${healthyOk && healthyBack?.identical ? 'committed, read back identical' : 'failed'}`,
    );
    log(`  ${scenario.title}: done`);
  } catch (error) {
    if (!(error instanceof ServerGone)) throw error;
    lines.push(`the server process died ${error.message}; the scenario stopped there`);
  } finally {
    clearInterval(rssTimer);
    lines.push(`server peak RSS (VmHWM): ${mib(Math.max(peak, await server.samplePeakRss()))}`);
    await server.stop();
  }
  return { title: scenario.title, lines, invariants: invariants.all() };
}

/** One storage fault, run on its own (each starts its own server). */
export interface StorageScenario {
  name: 'removed' | 'full' | 'read-only' | 'ulimit';
  run(): Promise<SectionResult>;
}

export function storageScenarios(options: StorageOptions): StorageScenario[] {
  const onSmallDisk = (kind: 'full' | 'read-only') => async (): Promise<SectionResult> => {
    const disk = await mountSmallDisk(options.workDir, kind === 'full' ? options.diskMiB : 16);
    if ('unavailable' in disk)
      return { title: `storage fault: ${kind === 'full' ? 'a full disk' : 'a read-only remount'}`, lines: [], invariants: [], skipped: [disk.unavailable] };
    try {
      return await runScenario(
        options,
        kind === 'full'
          ? {
              title: `storage fault: a full disk (${disk.kind} as --storage-dir)`,
              storageDir: disk.dir,
              partsBefore: 0,
              fullDisk: true,
              repair: async () => {},
              fileReadableDuringFault: true,
              checkOrphans: true,
            }
          : {
              title: `storage fault: a read-only remount (${disk.kind} as --storage-dir, mount -o remount,ro)`,
              storageDir: disk.dir,
              partsBefore: 2,
              breakStorage: () => disk.remount('ro'),
              repair: () => disk.remount('rw'),
              fileReadableDuringFault: true,
              checkOrphans: true,
            },
      );
    } finally {
      await disk.unmount();
    }
  };
  const removedDir = join(options.workDir, 'removed-storage');
  return [
    {
      name: 'removed',
      run: () =>
        runScenario(options, {
          title: 'storage fault: the storage directory removed while sessions are live',
          storageDir: removedDir,
          partsBefore: 2,
          breakStorage: () => rm(removedDir, { recursive: true, force: true }),
          fileReadableDuringFault: false,
          checkOrphans: false,
        }),
    },
    { name: 'full', run: onSmallDisk('full') },
    { name: 'read-only', run: onSmallDisk('read-only') },
    {
      name: 'ulimit',
      run: () =>
        runScenario(
          { ...options, sessions: options.ulimitSessions },
          {
            title: `storage fault: ulimit -n 1024 under ${options.ulimitSessions} concurrent sessions (every part in flight at once)`,
            storageDir: join(options.workDir, 'ulimit-storage'),
            maxOpenFiles: 1024,
            partsBefore: 0,
            mayDrop: true,
            holdBodies: true,
            repair: async () => {},
            fileReadableDuringFault: true,
            checkOrphans: true,
          },
        ),
    },
  ];
}
