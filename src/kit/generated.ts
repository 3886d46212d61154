/**
 * Generated cases: fast-check draws file sizes around part boundaries and fault schedules, runs the
 * client once per case against a fresh simulated server, and checks that every MUST client rule held.
 * On a failure it shrinks to the smallest case that still breaks a rule, and says how to replay it.
 */
import fc from 'fast-check';
import type { ClientUnderTest } from '../adapters/client.ts';
import type { Finding } from '../grader/findings.ts';
import { totalPartsFor } from '../protocol/parts.ts';
import { isClientRuleId, rulesFor } from '../protocol/rules.ts';
import type { FaultAction, FaultInstruction } from '../server/faults.ts';
import { type RunContext, runClientOnce } from './client-run.ts';

/** Small parts keep each case quick while files still span many parts. */
export const GENERATED_PART_SIZE = 256 * 1024;

/**
 * The part sizes Box hands out (8 MiB for files of a few hundred MB, 32 MiB around 1 GB): exact multiples
 * of them broke several generated SDKs (box-java-sdk#1957, box-codegen#980, box-windows-sdk-v2#408). Drawn
 * with --large only, since each such case moves up to 96 MiB.
 */
export const BOX_PART_SIZES: readonly number[] = [8 * 1024 * 1024, 32 * 1024 * 1024];

export type FaultKind = '503' | '429' | 'drop' | 'overlap';

export interface GeneratedCase {
  /** The session's part size; the run's (GENERATED_PART_SIZE unless --part-size) when absent. */
  partSize?: number;
  fileSize: number;
  /** First attempts of these parts (1-based) fail this way. */
  partFaults: { part: number; kind: FaultKind }[];
  /** The first this many commits are answered 202 + Retry-After 1. */
  commit202s: number;
}

const FAULT_ACTIONS: Record<FaultKind, FaultAction> = {
  '503': { kind: 'error', status: 503 },
  '429': { kind: 'rate-limit', retryAfter: 1 },
  drop: { kind: 'drop' },
  overlap: { kind: 'overlap' },
};

/** File sizes at the edges: exact multiples of part_size, one byte either side, a single short part. */
export function fileSizeArbitrary(partSize: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.record({ parts: fc.integer({ min: 1, max: 8 }), delta: fc.constantFrom(0, 1, -1) }).map(({ parts, delta }) => parts * partSize + delta),
    fc.integer({ min: 1, max: partSize - 1 }),
  );
}

export function generatedCaseArbitrary(partSize: number): fc.Arbitrary<GeneratedCase> {
  return casesOfFiles(partSize, fileSizeArbitrary(partSize));
}

/** Files of 1 to 3 parts at Box's own part sizes, exact multiples and one byte either side. */
export function boxPartSizeCaseArbitrary(): fc.Arbitrary<GeneratedCase> {
  return fc.constantFrom(...BOX_PART_SIZES).chain((partSize) =>
    casesOfFiles(
      partSize,
      fc.record({ parts: fc.integer({ min: 1, max: 3 }), delta: fc.constantFrom(0, 1, -1) }).map(({ parts, delta }) => parts * partSize + delta),
    ).map((generated) => ({ partSize, ...generated })),
  );
}

/** The cases the run draws from: the kit's small parts (or the given part size), and with `large` Box's part sizes too. */
export function casesArbitrary(large: boolean, partSize = GENERATED_PART_SIZE): fc.Arbitrary<GeneratedCase> {
  const small = generatedCaseArbitrary(partSize);
  return large ? fc.oneof(small, boxPartSizeCaseArbitrary()) : small;
}

function casesOfFiles(partSize: number, fileSizes: fc.Arbitrary<number>): fc.Arbitrary<GeneratedCase> {
  return fileSizes.chain((fileSize) => {
    const parts = totalPartsFor(fileSize, partSize);
    return fc.record({
      fileSize: fc.constant(fileSize),
      partFaults: fc.uniqueArray(fc.record({ part: fc.integer({ min: 1, max: parts }), kind: fc.constantFrom<FaultKind>('503', '429', 'drop', 'overlap') }), {
        maxLength: Math.min(3, parts),
        selector: (fault) => fault.part,
      }),
      commit202s: fc.integer({ min: 0, max: 2 }),
    });
  });
}

export function faultsFor(generated: GeneratedCase): FaultInstruction[] {
  return [
    ...generated.partFaults.map((fault): FaultInstruction => ({ op: 'part', part: fault.part, attempt: 1, action: FAULT_ACTIONS[fault.kind] })),
    ...Array.from({ length: generated.commit202s }, (_, index): FaultInstruction => ({
      op: 'commit',
      attempt: index + 1,
      action: { kind: 'retry-later', retryAfter: 1 },
    })),
  ];
}

export function describeCase(generated: GeneratedCase, partSize = generated.partSize ?? GENERATED_PART_SIZE): string {
  const parts = totalPartsFor(generated.fileSize, partSize);
  const rest = generated.fileSize - (parts - 1) * partSize;
  const shape = rest === partSize ? `exactly ${parts} part(s)` : `${parts - 1} part(s) and ${rest} byte(s)`;
  const faults = [
    ...generated.partFaults.map((fault) => `part ${fault.part}'s first attempt answered ${fault.kind === 'drop' ? 'by a dropped connection' : fault.kind}`),
    ...(generated.commit202s > 0 ? [`the first ${generated.commit202s} commit(s) answered 202`] : []),
  ];
  return `a file of ${generated.fileSize} bytes (${shape} of ${partSize}), ${faults.length > 0 ? faults.join(', ') : 'no faults'}`;
}

export type GeneratedOutcome =
  | { failed: false; runs: number; seed: number }
  | { failed: true; runs: number; seed: number; counterexample: GeneratedCase; description: string; shrinks: number; failures: Record<string, Finding[]> };

/** Runs the client on `runs` generated cases; every MUST client rule must hold in each. */
export async function checkGeneratedCases(
  client: ClientUnderTest,
  context: RunContext,
  options: { runs: number; seed: number; partSize?: number; large?: boolean },
): Promise<GeneratedOutcome> {
  const smallPartSize = options.partSize ?? GENERATED_PART_SIZE;
  const mustRules = rulesFor('client').filter((rule) => rule.level === 'MUST');
  const failuresByCase = new Map<string, Record<string, Finding[]>>();
  const property = fc.asyncProperty(casesArbitrary(options.large ?? false, smallPartSize), async (generated) => {
    const partSize = generated.partSize ?? smallPartSize;
    const { judgement } = await runClientOnce(client, { fileSize: generated.fileSize, partSize, faults: faultsFor(generated) }, context);
    const failures: Record<string, Finding[]> = {};
    for (const rule of mustRules) {
      const verdict = isClientRuleId(rule.id) ? judgement.verdicts[rule.id] : undefined;
      if (verdict?.status === 'failed') failures[rule.id] = verdict.findings;
    }
    failuresByCase.set(JSON.stringify(generated), failures);
    return Object.keys(failures).length === 0;
  });
  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, endOnFailure: false });
  if (!details.failed || !details.counterexample) return { failed: false, runs: options.runs, seed: options.seed };
  const [counterexample] = details.counterexample;
  const failures = failuresByCase.get(JSON.stringify(counterexample));
  // The property threw instead of judging (the client could not be run at all): that is the kit's error.
  if (!failures && details.errorInstance instanceof Error) throw details.errorInstance;
  return {
    failed: true,
    runs: options.runs,
    seed: options.seed,
    counterexample,
    description: describeCase(counterexample, counterexample.partSize ?? smallPartSize),
    shrinks: details.numShrinks,
    failures: failures ?? {},
  };
}
