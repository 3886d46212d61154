// Section 4: the reference uploader (src/uploader) under random fault schedules set through the control
// API of `npm run server` in another process. For every schedule the expected outcome is worked out from
// the plan alone (which faults fire, on which attempts, against the uploader's retry policy); the upload
// must end that way, and a committed file must read back byte for byte.
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeSeededFile } from '../../src/kit/source-file.ts';
import { type FaultAction, type FaultInstruction, matchFault } from '../../src/server/faults.ts';
import { uploadFile } from '../../src/uploader/index.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/http/retry.ts';
import { isTransientStatus } from '../../src/protocol/transient.ts';
import { API } from './api.ts';
import { Counter, Invariants, Reservoir, type SectionResult, mib, ms, percentile } from './figures.ts';
import { ServerProcess, crashSummary } from './server-process.ts';
import { exchange, jsonOf } from './wire.ts';

export interface UploaderOptions {
  seed: number;
  schedules: number;
  /** Servers (one per lane) running schedules side by side: a plan applies to a whole server. */
  lanes: number;
  partSize: number;
  maxParts: number;
  maxSeconds: number;
  workDir: string;
  token: string;
  /** More `npm run server` options (its budgets). */
  serverArgs?: string[];
  log?: (line: string) => void;
}

export const UPLOADER_INVARIANTS = {
  bytesLost: 'uploads reported committed whose stored content differs from the source (bytes lost)',
  falseSuccess: 'uploads reported committed although the schedule made the commit impossible (false success)',
  needlessFailure: 'uploads given up although every fault of the schedule was survivable',
  crashes: 'server crashes',
} as const;

const MAX_ATTEMPTS = DEFAULT_RETRY_POLICY.maxAttempts;
const MAX_COMMIT_WAITS = 60;

interface Schedule {
  parts: number;
  /** Bytes of the last part. */
  tail: number;
  instructions: FaultInstruction[];
}

/**
 * Fault schedules: runs of faults on consecutive attempts 1..k of one part (or of every part, or of the
 * commit), k up to the uploader's attempt limit so that both sides of it are tried, and now and then an
 * instruction for every attempt.
 */
export function scheduleArbitrary(partSize: number, maxParts: number): fc.Arbitrary<Schedule> {
  const transient = fc.oneof(
    fc.record({ kind: fc.constant('error' as const), status: fc.constantFrom(500, 502, 503, 504) }),
    fc.record({ kind: fc.constant('rate-limit' as const), retryAfter: fc.constant(0) }),
    fc.record({ kind: fc.constant('drop' as const), afterBytes: fc.option(fc.nat({ max: partSize }), { nil: undefined }) }),
    fc.record({ kind: fc.constant('delay' as const), ms: fc.integer({ min: 0, max: 20 }) }),
  );
  const terminal = fc.record({ kind: fc.constant('error' as const), status: fc.constantFrom(400, 403, 404, 409, 410, 412) });
  const partAction = fc.oneof(
    { weight: 12, arbitrary: transient },
    { weight: 4, arbitrary: fc.constant({ kind: 'overlap' as const }) },
    { weight: 1, arbitrary: terminal },
  );
  // A wait of a whole second at most once per schedule (the first attempt of a commit), so schedules stay short.
  const commitAction = fc.oneof(
    { weight: 12, arbitrary: transient },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('retry-later' as const), retryAfter: fc.constant(0) }) },
    { weight: 1, arbitrary: terminal },
  );
  const length = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 2 }) },
    { weight: 2, arbitrary: fc.integer({ min: 3, max: MAX_ATTEMPTS - 1 }) },
    { weight: 2, arbitrary: fc.constant(MAX_ATTEMPTS) },
  );
  const partRun = fc
    .tuple(
      fc.option(fc.integer({ min: 1, max: maxParts }), { nil: undefined, freq: 5 }),
      length,
      fc.array(partAction, { minLength: MAX_ATTEMPTS, maxLength: MAX_ATTEMPTS }),
    )
    .map(([part, count, actions]) =>
      actions.slice(0, count).map((action, index): FaultInstruction => ({ op: 'part', ...(part === undefined ? {} : { part }), attempt: index + 1, action })),
    );
  const commitRun = fc
    .tuple(length, fc.array(commitAction, { minLength: MAX_ATTEMPTS, maxLength: MAX_ATTEMPTS }))
    .map(([count, actions]) => actions.slice(0, count).map((action, index): FaultInstruction => ({ op: 'commit', attempt: index + 1, action })));
  const everyAttempt = fc.oneof(
    fc.record({ op: fc.constant('part' as const), part: fc.integer({ min: 1, max: maxParts }), action: partAction }),
    fc.record({ op: fc.constant('commit' as const), action: fc.oneof(transient, terminal) }),
  );
  const slowOnce = fc.constant<FaultInstruction[]>([{ op: 'commit', attempt: 1, action: { kind: 'retry-later', retryAfter: 1 } }]);
  return fc.record({
    parts: fc.integer({ min: 1, max: maxParts }),
    tail: fc.oneof(fc.constant(partSize), fc.integer({ min: 1, max: partSize })),
    instructions: fc
      .tuple(
        fc.array(fc.oneof({ weight: 3, arbitrary: partRun }, { weight: 1, arbitrary: commitRun }), { maxLength: 3 }),
        fc.oneof({ weight: 1, arbitrary: everyAttempt.map((instruction) => [instruction as FaultInstruction]) }, { weight: 5, arbitrary: fc.constant([]) }),
        fc.oneof({ weight: 1, arbitrary: slowOnce }, { weight: 19, arbitrary: fc.constant([]) }),
      )
      .map(([runs, every, slow]) => [...runs.flat(), ...every, ...slow]),
  });
}

type Verdict = { success: true } | { success: false; why: string };

/** An injected error the uploader does not retry: one that is not transient under its policy. */
const isTerminal = (action: FaultAction) => action.kind === 'error' && !isTransientStatus(action.status, DEFAULT_RETRY_POLICY.transience);

/** What the uploader must end with under `instructions`: worked out from the plan and its retry policy. */
export function expectedOutcome(schedule: Schedule): Verdict {
  const actionFor = (request: { op: 'part' | 'commit'; part?: number; attempt: number }) => {
    const index = matchFault(schedule.instructions, request);
    return index === undefined ? undefined : schedule.instructions[index]?.action;
  };
  for (let part = 1; part <= schedule.parts; part++) {
    for (let attempt = 1; ; attempt++) {
      const action = actionFor({ op: 'part', part, attempt });
      if (!action || action.kind === 'delay') break;
      if (isTerminal(action)) return { success: false, why: `part ${part} attempt ${attempt}: ${action.kind} ${'status' in action ? action.status : ''}` };
      if (attempt >= MAX_ATTEMPTS) return { success: false, why: `part ${part} failed ${MAX_ATTEMPTS} attempts` };
    }
  }
  let commits = 0;
  for (let waits = 0; ; waits++) {
    for (let attempt = 1; ; attempt++) {
      commits += 1;
      const action = actionFor({ op: 'commit', attempt: commits });
      if (!action || action.kind === 'delay') return { success: true };
      if (action.kind === 'retry-later') {
        if (waits >= MAX_COMMIT_WAITS) return { success: false, why: `more than ${MAX_COMMIT_WAITS} answers 202` };
        break;
      }
      if (isTerminal(action)) return { success: false, why: `commit ${commits}: ${action.kind} ${'status' in action ? action.status : ''}` };
      if (attempt >= MAX_ATTEMPTS) return { success: false, why: `commit failed ${MAX_ATTEMPTS} attempts` };
    }
  }
}

export async function uploaderSection(options: UploaderOptions): Promise<SectionResult> {
  const log = options.log ?? (() => {});
  const invariants = new Invariants(Object.values(UPLOADER_INVARIANTS));
  const outcomes = new Counter();
  const durations = new Reservoir();
  const schedules = fc.sample(scheduleArbitrary(options.partSize, options.maxParts), { seed: options.seed, numRuns: options.schedules });
  let firedTotal = 0;
  let peak = 0;
  let next = 0;
  let done = 0;
  const started = performance.now();
  const stopAt = started + options.maxSeconds * 1000;

  const lane = async (laneIndex: number) => {
    const dir = join(options.workDir, `lane-${laneIndex}`);
    await mkdir(dir, { recursive: true });
    let server = await ServerProcess.start({
      token: options.token,
      partSize: options.partSize,
      storageDir: join(dir, 'storage'),
      extraArgs: options.serverArgs,
    });
    try {
      while (next < schedules.length && performance.now() < stopAt) {
        const index = next++;
        const schedule = schedules[index] as Schedule;
        const size = (schedule.parts - 1) * options.partSize + schedule.tail;
        const file = join(dir, 'source.bin');
        const { sha1 } = await writeSeededFile(file, size, `uploader:${options.seed}:${index}`);
        const plan = Buffer.from(JSON.stringify({ instructions: schedule.instructions }));
        const set = await exchange(server.port, { method: 'PUT', target: '/_control/faults', body: plan });
        if (set.kind !== 'answer' || set.answer.status !== 200) throw new Error(`the server refused fault plan ${plan.toString()}`);
        const expected = expectedOutcome(schedule);
        const lines: string[] = [];
        const t0 = performance.now();
        const result = await uploadFile({
          baseUrl: server.baseUrl,
          token: options.token,
          file,
          fileName: `schedule-${index}.bin`,
          folderId: '0',
          retry: { backoffMs: 1, maxBackoffMs: 20 },
          log: (line) => lines.push(line),
        }).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error.message : String(error) }),
        );
        durations.add(performance.now() - t0);
        const report = await exchange(server.port, { method: 'GET', target: '/_control/faults' });
        const fired = report.kind === 'answer' ? ((jsonOf(report.answer) as { instructions?: { fired: number }[] })?.instructions ?? []) : [];
        firedTotal += fired.reduce((sum, entry) => sum + entry.fired, 0);
        const request = `schedule #${index} (seed ${options.seed}): ${size} bytes, plan ${plan.toString()}`;
        if (result.ok) {
          outcomes.add('committed');
          const content = await exchange(server.port, {
            method: 'GET',
            target: `${API}/files/${result.value.file.id}/content`,
            headers: [['authorization', `Bearer ${options.token}`]],
          });
          const stored =
            content.kind === 'answer' && content.answer.status === 200
              ? createHash('sha1').update(content.answer.body).digest('hex')
              : `(no content: ${content.kind})`;
          invariants.check(UPLOADER_INVARIANTS.bytesLost, stored === sha1, () => ({ request, answer: `stored ${stored}, source ${sha1}` }));
          invariants.check(UPLOADER_INVARIANTS.falseSuccess, expected.success, () => ({
            request,
            answer: `reported committed; expected a failure (${expected.success ? '' : expected.why})`,
          }));
          await exchange(server.port, {
            method: 'DELETE',
            target: `${API}/files/${result.value.file.id}`,
            headers: [['authorization', `Bearer ${options.token}`]],
          });
        } else {
          outcomes.add('gave up');
          invariants.check(UPLOADER_INVARIANTS.needlessFailure, !expected.success, () => ({
            request,
            answer: `gave up: ${result.error} (${lines.slice(-3).join('; ')})`,
          }));
        }
        if (!server.alive) {
          const exit = await server.exited;
          invariants.violate(UPLOADER_INVARIANTS.crashes, { request, answer: `the server exited ${exit.code ?? exit.signal}: ${crashSummary(exit.stderr)}` });
          server = await ServerProcess.start({
            token: options.token,
            partSize: options.partSize,
            storageDir: join(dir, 'storage'),
            extraArgs: options.serverArgs,
          });
        }
        peak = Math.max(peak, await server.samplePeakRss());
        done += 1;
        if (done % 500 === 0) log(`  ${done} schedules, ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, (_, index) => lane(index)));
  const seconds = (performance.now() - started) / 1000;
  return {
    title: `fault schedules for the reference uploader (seed ${options.seed}, ${options.lanes} servers side by side, up to ${options.maxParts} parts of ${options.partSize / 1024} KiB)`,
    lines: [
      `${done.toLocaleString('en')} schedules in ${seconds.toFixed(1)} s; outcomes: ${outcomes.format('count')}; faults fired: ${firedTotal.toLocaleString('en')}`,
      `upload time per schedule: p50 ${ms(percentile(durations.values, 50))}, p95 ${ms(percentile(durations.values, 95))}`,
      `server peak RSS (VmHWM, highest lane): ${mib(peak)}`,
    ],
    invariants: invariants.all(),
  };
}
