/** Shared views of one run, computed once for all checks, and the questions several checks ask of it. */
import type { Span } from '../../protocol/parts.ts';
import { SLOW_SERVER_MS } from '../../protocol/rules.ts';
import { isTransientStatus } from '../../protocol/transient.ts';
import type { Exchange } from '../../server/recorder.ts';
import { retryAfterMs } from '../../protocol/retry-after.ts';
import {
  type Acknowledgement,
  type OverlappingSend,
  acknowledgements,
  commitRequests,
  overlappingSends,
  partRequests,
  rangeOf,
  type StoredDespiteFailure,
  storedDespiteFailure,
  unpersistedOverlapSpans,
} from '../traffic.ts';
import type { ClientRun } from './run.ts';
import { type Draft, type Observation, at, observed, unobserved } from './observation.ts';

/** Shared views of one run, computed once for all checks. */
export interface RunView {
  run: ClientRun;
  parts: Exchange[];
  commits: Exchange[];
  acks: Acknowledgement[];
  /** Part requests that overlap another part the client sent (C-NO-OVERLAP), by sequence number. */
  overlapping: Map<number, OverlappingSend>;
  /** Ranges refused as range_overlaps_existing_part and never acknowledged. */
  unpersisted: Span[];
  /** Parts the server stored although it answered their upload with a failure (C-RECOVER-STORED's situation). */
  storedDespiteFailure: StoredDespiteFailure[];
}

export function viewOf(run: ClientRun): RunView {
  const parts = partRequests(run.traffic);
  return {
    run,
    parts,
    commits: commitRequests(run.traffic),
    acks: acknowledgements(run.traffic),
    overlapping: new Map(overlappingSends(parts, run.partSize, run.fileSize).map((send) => [send.exchange.seq, send])),
    unpersisted: unpersistedOverlapSpans(run.traffic),
    storedDespiteFailure: storedDespiteFailure(run.traffic),
  };
}

export function judgeParts(view: RunView, check: (part: Exchange) => string | undefined): Observation {
  if (view.parts.length === 0) return unobserved('the client sent no part');
  return observed(
    view.parts.flatMap((part) => {
      const message = check(part);
      return message === undefined ? [] : [at(part, message)];
    }),
  );
}

export function judgeCommits(view: RunView, check: (commit: Exchange) => Draft[]): Observation {
  if (view.commits.length === 0) return unobserved('the client never committed');
  return observed(view.commits.flatMap(check));
}

export function succeeded(run: ClientRun): boolean {
  const created = commitRequests(run.traffic).some((commit) => commit.status === 201);
  return created && run.stored !== undefined && run.stored.size === run.fileSize && run.stored.sha1 === run.fileSha1;
}

/** A part attempt that failed as a client should retry: 5xx, 429 or a dropped connection (not the client's own overlapping send). */
export const retriable = (view: RunView, part: Exchange) => !view.overlapping.has(part.seq) && (part.dropped || isTransientStatus(part.status));

/** The next attempt at the same range, after the failed one's answer. */
export function laterAttempt(view: RunView, failed: Exchange): Exchange | undefined {
  const range = rangeOf(failed);
  return view.parts.find((part) => {
    const other = rangeOf(part);
    return part.seq > failed.seq && part.startMs >= failed.endMs && other !== undefined && range !== undefined && other.lo === range.lo;
  });
}

/**
 * What the client did about a failed part attempt: its next attempt at the range, or, where the server
 * had stored the part despite the failure, a list of the parts (how a client finds the stored record
 * without resending it), whichever came first.
 */
export function followUp(view: RunView, failed: Exchange): Exchange | undefined {
  const retry = laterAttempt(view, failed);
  if (!failed.fault?.storedPart) return retry;
  const listing = view.run.traffic.find((exchange) => exchange.op === 'list' && exchange.seq > failed.seq && exchange.startMs >= failed.endMs);
  return listing && (!retry || listing.seq < retry.seq) ? listing : retry;
}

/** The first attempt of each distinct part range, in the order the server saw them arrive. */
export function firstAttempts(view: RunView): Exchange[] {
  const seen = new Set<number>();
  const firsts: Exchange[] = [];
  for (const part of view.parts) {
    const range = rangeOf(part);
    if (!range || seen.has(range.lo)) continue;
    seen.add(range.lo);
    firsts.push(part);
  }
  return firsts;
}

/** Whether the server delayed every part answer by SLOW_SERVER_MS or more (C-PARALLEL-MIN's situation). */
export function serverAnswersSlowly(run: ClientRun): boolean {
  return run.faults.some(
    ({ instruction }) =>
      instruction.op === 'part' &&
      instruction.part === undefined &&
      instruction.attempt === undefined &&
      instruction.action.kind === 'delay' &&
      instruction.action.ms >= SLOW_SERVER_MS,
  );
}

export const plansPartFailures = (run: ClientRun) => run.faults.some(({ instruction }) => instruction.op === 'part' && instruction.action.kind !== 'delay');

/** The Retry-After the kit sent, in seconds (0 when none). */
export const retryAfterOf = (exchange: Exchange) => (retryAfterMs(exchange.responseHeaders) ?? 0) / 1000;
