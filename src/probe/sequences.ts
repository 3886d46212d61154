/**
 * Generated sequences of calls (parts in any order, right and wrong, listings, status reads, commits,
 * aborts), each sent to a new session and judged against the kit's model of that session: what each answer
 * must be follows from what the kit sent (src/probe/probe.ts), never from the server's earlier answers.
 * fast-check draws the sequences and shrinks a failing one to the shortest that still fails; the outcome
 * keeps that sequence, its seed and its findings as data.
 */
import fc from 'fast-check';
import type { Finding } from '../grader/findings.ts';
import { judgeServerExchanges } from '../grader/server-findings.ts';
import { digestHeaderFor, sha1Of } from '../protocol/digest.ts';
import type { ServerRuleId } from '../protocol/rules.ts';
import { Blocked } from '../errors.ts';
import { partNumberAt, sendWrongPart } from './cases.ts';
import type { ProbeExchange } from './exchange.ts';
import { type ServerDepth, ServerProbe, type ServerTarget } from './probe.ts';
import { sendOtherBytes } from './part-variants.ts';
import { ServerScenario } from './scenario.ts';
import { type FileShape, PART_WAYS, type PartWay } from './spaces.ts';

const WHERE = ['first', 'second', 'middle', 'last'] as const;
type Where = (typeof WHERE)[number];

export type SequenceStep =
  | { readonly call: 'part'; readonly where: Where; readonly how: 'correct' | 'other bytes' | PartWay }
  | { readonly call: 'list'; readonly offset: number; readonly limit?: number }
  | { readonly call: 'status' }
  | { readonly call: 'commit'; readonly parts: 'as stored' | 'the first left out'; readonly digest: 'right' | 'of other bytes' }
  | { readonly call: 'abort' };

export interface Sequence {
  readonly file: FileShape;
  readonly steps: readonly SequenceStep[];
}

/** The sequences drawn per depth; fast-check's own shrinking bounds the rest, within the time limit. */
export const SEQUENCE_RUNS: Readonly<Record<ServerDepth, number>> = { default: 6, wide: 60 };
const MAX_STEPS = 10;
/**
 * Sequences sent while shrinking, at most: counted, not timed, so that a recorded run replays the very same
 * requests however fast each of them ran (a shrink cut short by a clock would not).
 */
const SHRINK_BUDGET: Readonly<Record<ServerDepth, number>> = { default: 40, wide: 200 };
/** The default run's seed: the same sequences every run, so that a verdict is stable. */
export const DEFAULT_SEQUENCE_SEED = 20_261_204;

const stepArbitrary: fc.Arbitrary<SequenceStep> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ call: fc.constant('part' as const), where: fc.constantFrom(...WHERE), how: fc.constant('correct' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      call: fc.constant('part' as const),
      where: fc.constantFrom(...WHERE),
      how: fc.constantFrom<'other bytes' | PartWay>('other bytes', ...(Object.keys(PART_WAYS) as PartWay[])),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      call: fc.constant('list' as const),
      offset: fc.integer({ min: 0, max: 4 }),
      limit: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ call: 'status' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      call: fc.constant('commit' as const),
      parts: fc.constantFrom('as stored' as const, 'the first left out' as const),
      digest: fc.constantFrom('right' as const, 'of other bytes' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ call: 'abort' as const }) },
);

export const sequenceArbitrary: fc.Arbitrary<Sequence> = fc.record({
  file: fc.constantFrom<FileShape>('exact multiple', 'one byte over', 'one byte under', 'half a part over'),
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: MAX_STEPS }),
});

export function describeStep(step: SequenceStep): string {
  switch (step.call) {
    case 'part':
      return `PUT the ${step.where} part ${step.how === 'correct' ? 'as a correct client sends it' : `with ${step.how}`}`;
    case 'list':
      return `GET the parts at offset ${step.offset}${step.limit === undefined ? '' : `, limit ${step.limit}`}`;
    case 'status':
      return 'GET the status';
    case 'commit':
      return `POST the commit, parts ${step.parts}, the Digest ${step.digest === 'right' ? 'of the file' : 'of other bytes'}`;
    case 'abort':
      return 'DELETE the session';
  }
}

export function describeSequence(sequence: Sequence): string {
  return [`a file of ${sequence.file}`, ...sequence.steps.map((step, index) => `${index + 1}. ${describeStep(step)}`)].join('; ');
}

export interface SequencesOutcome {
  seed: number;
  runs: number;
  /** The shortest failing sequence and what it broke, when one failed. */
  counterexample?: { sequence: Sequence; path: string; exchanges: ProbeExchange[]; findings: Finding[] };
  /** Rules that kept every sequence from running (a session could not be opened, …). */
  blocked?: { blockedBy: ServerRuleId[]; reason: string };
}

/** Runs one sequence in a new session; its findings, or Blocked. */
async function runSequence(target: ServerTarget, sequence: Sequence, run: string): Promise<{ exchanges: ProbeExchange[]; findings: Finding[] }> {
  const probe = new ServerProbe(target, 'S-SEQUENCE');
  const found: Finding[] = [];
  try {
    const file = await probe.openShaped(sequence.file);
    if (!file) return { exchanges: [], findings: [] };
    try {
      for (const [index, step] of sequence.steps.entries()) {
        await probe.labelled(`step ${index + 1}: ${describeStep(step)}`, async () => {
          const stored = new Set(probe.expectedParts(file).map((part) => part.offset));
          switch (step.call) {
            case 'part': {
              const number = step.where === 'second' ? 2 : partNumberAt(probe, file, step.where);
              const { offset } = probe.partBytes(file, number);
              if (step.how === 'correct' || (step.how === 'other bytes' && !stored.has(offset))) await probe.sendPart(file, number);
              else if (step.how === 'other bytes') await sendOtherBytes(probe, file, number);
              else {
                const answer = await sendWrongPart(probe, file, number, step.how);
                // Refused but stored after all is the refusal's rule broken, not the listings' that would show it later.
                if (answer.status >= 400 && answer.status < 500) {
                  const scenario = new ServerScenario(probe, run, [PART_WAYS[step.how]]);
                  scenario.file = file;
                  scenario.sentAt = probe.exchanges.length - 1;
                  const problem = await scenario.persistedProblem();
                  if (problem) found.push({ rule: PART_WAYS[step.how], run, requests: [scenario.sentAt], message: problem });
                }
              }
              return;
            }
            case 'list':
              await probe.listParts(file, { offset: step.offset, ...(step.limit === undefined ? {} : { limit: step.limit }) });
              return;
            case 'status':
              await probe.status(file);
              return;
            case 'commit': {
              const parts = probe.commitParts(file);
              const digest = step.digest === 'right' ? probe.wholeFileDigest(file) : digestHeaderFor(sha1Of('other bytes'));
              await probe.commit(file, { digest, parts: step.parts === 'as stored' ? parts : parts.slice(1) });
              return;
            }
            case 'abort':
              await probe.abort(file.session);
          }
        });
      }
    } catch (error) {
      // A step that cannot be judged ends the sequence; what came before it is still judged.
      if (!(error instanceof Blocked)) throw error;
    }
  } finally {
    await probe.cleanUp();
  }
  return { exchanges: probe.exchanges, findings: [...judgeServerExchanges({ run, exchanges: probe.exchanges, divergedAt: probe.divergences() }), ...found] };
}

/** Draws sequences with `seed` and shrinks the first that fails. */
export async function checkSequences(target: ServerTarget, options: { depth: ServerDepth; seed?: number }): Promise<SequencesOutcome> {
  const seed = options.seed ?? DEFAULT_SEQUENCE_SEED;
  const runs = SEQUENCE_RUNS[options.depth];
  const failures = new Map<string, { exchanges: ProbeExchange[]; findings: Finding[] }>();
  let blocked: SequencesOutcome['blocked'];
  let sent = 0;
  const property = fc.asyncProperty(sequenceArbitrary, async (sequence) => {
    // Past the budget a sequence counts as passing without being sent: the shrink ends with the shortest failure so far.
    sent += 1;
    if (sent > runs + SHRINK_BUDGET[options.depth]) return true;
    const key = JSON.stringify(sequence);
    try {
      const outcome = await runSequence(target, sequence, `generated sequence (seed ${seed}): ${describeSequence(sequence)}`);
      if (outcome.findings.length === 0) return true;
      failures.set(key, outcome);
      return false;
    } catch (error) {
      if (!(error instanceof Blocked)) throw error;
      blocked ??= { blockedBy: [...error.blockedBy], reason: error.message };
      return true;
    }
  });
  const details = await fc.check(property, { seed, numRuns: runs });
  const [sequence] = details.counterexample ?? [];
  const failure = sequence && failures.get(JSON.stringify(sequence));
  if (details.errorInstance && !failure) throw details.errorInstance;
  return {
    seed,
    runs,
    ...(sequence && failure ? { counterexample: { sequence, path: details.counterexamplePath ?? '', ...failure } } : {}),
    ...(blocked ? { blocked } : {}),
  };
}
