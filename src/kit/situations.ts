/**
 * The Given steps of the client features, as data: each puts the client in a situation by changing the
 * run's set-up. Cucumber registers them (steps/client.steps.ts), and the kit reads a scenario's set-up
 * from its steps before Cucumber reaches it, so that the runs that mostly wait can start early
 * (steps/support/world.ts).
 */
import type { RunSetup } from './client-run.ts';
import type { FaultAction } from '../server/faults.ts';

export interface Situation {
  pattern: RegExp;
  /** `partSize` is --part-size, which replaces the part size a scenario names. */
  apply(setup: RunSetup, args: readonly string[], partSize: number | null): void;
}

export const newSetup = (): RunSetup => ({ fileSize: 0, partSize: 8 * 1024 * 1024, faults: [] });

const firstAttemptOf = (setup: RunSetup, part: string, action: FaultAction) => setup.faults.push({ op: 'part', part: Number(part), attempt: 1, action });
const attemptOf = (which: string) => (which === 'first' ? 1 : 2);

export const SITUATIONS: readonly Situation[] = [
  { pattern: /^the server cuts files into parts of (\d+) bytes$/, apply: (setup, [size], partSize) => void (setup.partSize = partSize ?? Number(size)) },
  { pattern: /^a file of (\d+) bytes$/, apply: (setup, [size]) => void (setup.fileSize = Number(size)) },
  { pattern: /^a file of (?:exactly )?(\d+) parts$/, apply: (setup, [parts]) => void (setup.fileSize = Number(parts) * setup.partSize) },
  {
    pattern: /^a file of (\d+) parts and (\d+) bytes?$/,
    apply: (setup, [parts, bytes]) => void (setup.fileSize = Number(parts) * setup.partSize + Number(bytes)),
  },
  {
    pattern: /^the server answers every part after (\d+) ms$/,
    apply: (setup, [ms]) => void setup.faults.push({ op: 'part', action: { kind: 'delay', ms: Number(ms) } }),
  },
  {
    pattern: /^the server answers part (\d+)'s first attempt with (5\d\d) after (\d+) ms$/,
    apply: (setup, [part, status, ms]) => void firstAttemptOf(setup, part ?? '', { kind: 'error', status: Number(status), afterMs: Number(ms) }),
  },
  {
    pattern: /^the server answers part (\d+)'s first attempt with 429 and Retry-After (\d+) after (\d+) ms$/,
    apply: (setup, [part, seconds, ms]) => void firstAttemptOf(setup, part ?? '', { kind: 'rate-limit', retryAfter: Number(seconds), afterMs: Number(ms) }),
  },
  {
    pattern: /^the server answers part (\d+)'s first attempt with range_overlaps_existing_part after (\d+) ms$/,
    apply: (setup, [part, ms]) => void firstAttemptOf(setup, part ?? '', { kind: 'overlap', afterMs: Number(ms) }),
  },
  {
    pattern: /^the server drops the connection halfway through part (\d+)'s first attempt$/,
    apply: (setup, [part]) => void firstAttemptOf(setup, part ?? '', { kind: 'drop' }),
  },
  {
    pattern: /^the server answers the first (\d+) commits with 202 and Retry-After (\d+)$/,
    apply: (setup, [count, seconds]) => {
      for (let attempt = 1; attempt <= Number(count); attempt++)
        setup.faults.push({ op: 'commit', attempt, action: { kind: 'retry-later', retryAfter: Number(seconds) } });
    },
  },
  {
    pattern: /^the server answers the (first|second) commit with 202 and Retry-After (\d+)$/,
    apply: (setup, [which, seconds]) =>
      void setup.faults.push({ op: 'commit', attempt: attemptOf(which ?? ''), action: { kind: 'retry-later', retryAfter: Number(seconds) } }),
  },
  // Failures real uploaders met in production (issue 12): features/client/08-production-faults.feature.
  {
    pattern: /^the server stores part (\d+)'s first attempt, then answers it with (5\d\d)$/,
    apply: (setup, [part, status]) => void firstAttemptOf(setup, part ?? '', { kind: 'error', status: Number(status), persist: true }),
  },
  {
    pattern: /^the server stores part (\d+)'s first attempt, then drops the connection without an answer$/,
    apply: (setup, [part]) => void firstAttemptOf(setup, part ?? '', { kind: 'drop', persist: true }),
  },
  {
    pattern: /^the server answers the first (create|commit) with 429 and Retry-After (\d+)$/,
    apply: (setup, [op, seconds]) =>
      void setup.faults.push({ op: op === 'create' ? 'create' : 'commit', attempt: 1, action: { kind: 'rate-limit', retryAfter: Number(seconds) } }),
  },
  {
    pattern: /^the server answers the (first|second) commit with 400 parts_mismatch$/,
    apply: (setup, [which]) => void setup.faults.push({ op: 'commit', attempt: attemptOf(which ?? ''), action: { kind: 'parts-mismatch' } }),
  },
  {
    pattern: /^a sparse file of (\d+) GiB and (\d+) bytes$/,
    apply: (setup, [gib, bytes]) => {
      setup.fileSize = Number(gib) * 2 ** 30 + Number(bytes);
      setup.sparseSource = true;
    },
  },
  { pattern: /^the server keeps parts of zeros as their size and SHA-1 only$/, apply: (setup) => void (setup.sparseParts = true) },
  {
    pattern: /^the server answers every commit with (\d{3}) (\w+)$/,
    apply: (setup, [status, code]) => void setup.faults.push({ op: 'commit', action: { kind: 'error', status: Number(status), code: code ?? '' } }),
  },
];

/** The set-up a scenario's steps describe, as the Given steps build it. */
export function setupOf(steps: readonly string[], partSize: number | null): RunSetup {
  const setup = newSetup();
  for (const text of steps) {
    for (const { pattern, apply } of SITUATIONS) {
      const match = pattern.exec(text);
      if (match) {
        apply(setup, match.slice(1), partSize);
        break;
      }
    }
  }
  return setup;
}

/** Seconds a correct client spends waiting out the Retry-After answers the set-up plans. */
export function plannedWaitSeconds(setup: RunSetup): number {
  return setup.faults.reduce((sum, { action }) => sum + (action.kind === 'rate-limit' || action.kind === 'retry-later' ? action.retryAfter : 0), 0);
}

/**
 * The scenarios Cucumber is about to run, as their steps' text: the runner fills it from Cucumber's
 * messages (every test case is announced before the first starts), the client steps read it.
 */
let planned: string[][] = [];

export function planScenario(steps: readonly string[]): void {
  planned.push([...steps]);
}

export function clearPlannedScenarios(): void {
  planned = [];
}

export function plannedScenarios(): readonly (readonly string[])[] {
  return planned;
}
