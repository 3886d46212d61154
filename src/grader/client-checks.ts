/**
 * The client rules as pure checks over one run's recorded traffic. Every run is judged on every rule
 * (judgeRun): a rule whose statement the run shows is passed or failed there, with findings as data
 * ({rule, run, requests, message}); a rule the run cannot show is not applicable (the situation never
 * arose), or, when the client stopped before showing it, blocked by the rules whose failures stopped it.
 */
import { rangeSize } from '../protocol/content-range.ts';
import { parseDigest } from '../protocol/digest.ts';
import { type Span, coverageOf, totalPartsFor } from '../protocol/parts.ts';
import {
  CLIENT_RULE_IDS,
  type ClientRuleId,
  ORDER_TOLERANCE_MS,
  PARALLEL_MAX,
  PARALLEL_MIN,
  PARALLEL_MIN_MEAN,
  RETRY_AFTER_SLACK_MS,
  RETRY_FIRST_TOLERANCE_MS,
  SLOW_SERVER_MS,
} from '../protocol/rules.ts';
import { type FaultInstruction, type FaultReportEntry, describeFault, persists } from '../server/faults.ts';
import { type Exchange, responseHeader } from '../server/recorder.ts';
import type { BlockedRule, Finding, FindingsAttachment } from './findings.ts';
import { inFlight } from './in-flight.ts';
import {
  type Acknowledgement,
  type OverlappingSend,
  acknowledgements,
  bodyFullyRead,
  commitParts,
  commitRequests,
  describeExchange,
  errorCode,
  header,
  isInjectedRefusal,
  isOverlapAnswer,
  isRefusal,
  overlappingSends,
  overlapsAny,
  partRequests,
  rangeOf,
  refusedForStoredPart,
  returnedRecords,
  sameRecord,
  type StoredDespiteFailure,
  storedDespiteFailure,
  unpersistedOverlapSpans,
} from './traffic.ts';

/** Everything the kit knows after one run of a client against the simulated server. */
export interface ClientRun {
  fileSize: number;
  /** Hex SHA-1 of the source file. */
  fileSha1: string;
  fileName: string;
  folderId: string;
  partSize: number;
  traffic: Exchange[];
  faults: FaultReportEntry[];
  exit: { code: number | null; timedOut: boolean };
  /** The file the server stored for a 201 commit, as the server hashed it. */
  stored?: { size: number; sha1: string };
  /** Hex SHA-1 of the source file's bytes at each range a part body was sent for, by `lo-hi` (src/kit/range-digests.ts). */
  rangeSha1?: Readonly<Record<string, string>>;
}

/** The key of a byte range in ClientRun.rangeSha1. */
export const rangeKey = (lo: number, hi: number) => `${lo}-${hi}`;

/** One observation before it is tied to a rule and a run. */
interface Draft {
  /** The exchanges that show it. */
  requests: number[];
  message: string;
  /** The request whose content breaks the rule: if the server refused it, this finding explains a stop. */
  about?: number;
  /** The finding is itself why the run went no further (no session asked for, killed at the timeout). */
  stops?: boolean;
}

/** What a check makes of one run. */
type Observation =
  | { kind: 'observed'; drafts: Draft[] }
  /** The situation the rule is about never arose in this run (no part failed, no 202, …). */
  | { kind: 'not-applicable'; reason: string }
  /**
   * What the rule needs never happened because the client stopped. Who is to blame is settled once every
   * rule has been judged (resolve): the rules whose findings the server refused, else an injected fault
   * (when it excuses), else the rule itself.
   */
  | { kind: 'unobserved'; what: string; excusedByInjectedFaults: boolean };

/** One rule's verdict on one run. */
export type RunVerdict =
  | { status: 'passed' }
  | { status: 'failed'; findings: Finding[] }
  | { status: 'not-applicable'; reason: string }
  | { status: 'blocked'; blockedBy: string[]; reason: string };

export interface RunJudgement {
  runId: string;
  verdicts: Record<ClientRuleId, RunVerdict>;
  /** Planned faults that never fired: the run did not put the client in the situation it describes. */
  unfired: string[];
}

const observed = (drafts: Draft[]): Observation => ({ kind: 'observed', drafts });
const notApplicable = (reason: string): Observation => ({ kind: 'not-applicable', reason: `not judged: ${reason}` });
const unobserved = (what: string, excusedByInjectedFaults = true): Observation => ({ kind: 'unobserved', what, excusedByInjectedFaults });
/** A finding shown by `exchanges`; a single exchange is also the one whose content breaks the rule, unless `about` says otherwise. */
function at(exchanges: Exchange | readonly Exchange[], message: string, about?: Exchange | null): Draft {
  const list: readonly Exchange[] = Array.isArray(exchanges) ? exchanges : [exchanges as Exchange];
  const subject = about === undefined ? (list.length === 1 ? list[0] : undefined) : (about ?? undefined);
  return { requests: [...new Set(list.map((exchange) => exchange.seq))].sort((a, b) => a - b), message, ...(subject ? { about: subject.seq } : {}) };
}

/** Shared views of one run, computed once for all checks. */
interface RunView {
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

function viewOf(run: ClientRun): RunView {
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

function judgeParts(view: RunView, check: (part: Exchange) => string | undefined): Observation {
  if (view.parts.length === 0) return unobserved('the client sent no part');
  return observed(
    view.parts.flatMap((part) => {
      const message = check(part);
      return message === undefined ? [] : [at(part, message)];
    }),
  );
}

function judgeCommits(view: RunView, check: (commit: Exchange) => Draft[]): Observation {
  if (view.commits.length === 0) return unobserved('the client never committed');
  return observed(view.commits.flatMap(check));
}

function succeeded(run: ClientRun): boolean {
  const created = commitRequests(run.traffic).some((commit) => commit.status === 201);
  return created && run.stored !== undefined && run.stored.size === run.fileSize && run.stored.sha1 === run.fileSha1;
}

/** A part attempt that failed as a client should retry: 5xx, 429 or a dropped connection (not the client's own overlapping send). */
const retriable = (view: RunView, part: Exchange) => !view.overlapping.has(part.seq) && (part.dropped || part.status === 429 || part.status >= 500);

/** The next attempt at the same range, after the failed one's answer. */
function laterAttempt(view: RunView, failed: Exchange): Exchange | undefined {
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
function followUp(view: RunView, failed: Exchange): Exchange | undefined {
  const retry = laterAttempt(view, failed);
  if (!failed.fault?.storedPart) return retry;
  const listing = view.run.traffic.find((exchange) => exchange.op === 'list' && exchange.seq > failed.seq && exchange.startMs >= failed.endMs);
  return listing && (!retry || listing.seq < retry.seq) ? listing : retry;
}

/** The first attempt of each distinct part range, in the order the server saw them arrive. */
function firstAttempts(view: RunView): Exchange[] {
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
function serverAnswersSlowly(run: ClientRun): boolean {
  return run.faults.some(
    ({ instruction }) =>
      instruction.op === 'part' &&
      instruction.part === undefined &&
      instruction.attempt === undefined &&
      instruction.action.kind === 'delay' &&
      instruction.action.ms >= SLOW_SERVER_MS,
  );
}

const plansPartFailures = (run: ClientRun) => run.faults.some(({ instruction }) => instruction.op === 'part' && instruction.action.kind !== 'delay');

const retryAfterOf = (exchange: Exchange) => Number(responseHeader(exchange, 'retry-after') ?? 0);

type Check = (view: RunView) => Observation;

const CLIENT_CHECKS: Readonly<Record<ClientRuleId, Check>> = {
  'C-CREATE': ({ run }) => {
    const creates = run.traffic.filter((exchange) => exchange.op === 'create');
    if (creates.length === 0) return observed([{ requests: [], message: 'the client never sent POST …/files/upload_sessions', stops: true }]);
    return observed(
      creates.flatMap((create) => {
        const body = create.requestBody.json as Record<string, unknown> | undefined;
        const where = describeExchange(create);
        if (typeof body !== 'object' || body === null) return [at(create, `${where}: the body is not a JSON object`)];
        const problems: Draft[] = [];
        if (body.folder_id !== run.folderId) problems.push(at(create, `${where}: folder_id is ${JSON.stringify(body.folder_id)}, expected "${run.folderId}"`));
        if (body.file_name !== run.fileName) problems.push(at(create, `${where}: file_name is ${JSON.stringify(body.file_name)}, expected "${run.fileName}"`));
        if (body.file_size !== run.fileSize)
          problems.push(at(create, `${where}: file_size is ${JSON.stringify(body.file_size)}, the file has ${run.fileSize} bytes`));
        return problems;
      }),
    );
  },

  'C-AUTH': ({ run }) => {
    if (run.traffic.length === 0) return unobserved('the client sent no request');
    return observed(
      run.traffic
        .filter((exchange) => exchange.auth !== 'valid')
        .map((exchange) => {
          const sent = header(exchange, 'authorization');
          const how = {
            missing: 'no Authorization header',
            malformed: `Authorization "${sent ?? ''}" is not of the form "Bearer <token>"`,
            'wrong-token': 'a bearer token other than the one given',
          }[exchange.auth as 'missing' | 'malformed' | 'wrong-token'];
          return at(exchange, `${describeExchange(exchange)}: ${how}`);
        }),
    );
  },

  'C-PART-SIZE': (view) =>
    judgeParts(view, (part) => {
      const { run } = view;
      const where = describeExchange(part);
      if (!bodyFullyRead(part)) return part.requestBody.truncated ? `${where}: the body is longer than the part size ${run.partSize}` : undefined;
      const length = part.requestBody.length;
      if (length === 0) return `${where}: an empty part`;
      const range = rangeOf(part);
      const expected = range && range.lo < run.fileSize ? Math.min(run.partSize, run.fileSize - range.lo) : undefined;
      if (expected !== undefined && length !== expected) {
        return `${where}: ${length} bytes; a part at offset ${range?.lo} must have ${expected} (part_size ${run.partSize}, file ${run.fileSize})`;
      }
      if (expected === undefined && length > run.partSize) return `${where}: ${length} bytes, more than part_size ${run.partSize}`;
      return undefined;
    }),

  'C-RANGE-FORMAT': (view) =>
    judgeParts(view, (part) => {
      const where = describeExchange(part);
      const value = header(part, 'content-range');
      const range = rangeOf(part);
      if (!range) return value === undefined ? `${where}: no Content-Range header` : `${where}: Content-Range "${value}" is not "bytes <lo>-<hi>/<total>"`;
      if (!bodyFullyRead(part)) return part.requestBody.truncated ? `${where}: the body is longer than the ${rangeSize(range)} bytes of "${value}"` : undefined;
      if (part.requestBody.length !== rangeSize(range))
        return `${where}: Content-Range "${value}" announces ${rangeSize(range)} bytes, the body has ${part.requestBody.length}`;
      const expected = view.run.rangeSha1?.[rangeKey(range.lo, range.hi)];
      if (expected !== undefined && expected !== part.requestBody.sha1)
        return `${where}: the body is not the file's bytes ${range.lo}-${range.hi} (SHA-1 ${part.requestBody.sha1}, the file's bytes there ${expected})`;
      return undefined;
    }),

  'C-RANGE-ALIGN': (view) =>
    judgeParts(view, (part) => {
      const range = rangeOf(part);
      if (!range || range.lo % view.run.partSize === 0) return undefined;
      return `${describeExchange(part)}: starts at ${range.lo}, not a multiple of part_size ${view.run.partSize}`;
    }),

  'C-RANGE-UPPER': (view) =>
    judgeParts(view, (part) => {
      const { run } = view;
      const range = rangeOf(part);
      if (!range) return undefined;
      const last = range.lo + run.partSize >= run.fileSize;
      const expected = last ? run.fileSize - 1 : range.lo + run.partSize - 1;
      if (range.hi === expected) return undefined;
      return `${describeExchange(part)}: ends at ${range.hi}, expected ${expected} (${last ? 'the last part ends at file size - 1' : 'lo + part_size - 1'})`;
    }),

  'C-RANGE-TOTAL': (view) =>
    judgeParts(view, (part) => {
      const range = rangeOf(part);
      if (!range || range.total === view.run.fileSize) return undefined;
      return `${describeExchange(part)}: Content-Range total ${range.total}, the file has ${view.run.fileSize} bytes`;
    }),

  'C-DIGEST': (view) =>
    judgeParts(view, (part) => {
      const where = describeExchange(part);
      const parsed = parseDigest(header(part, 'digest'));
      const refused = part.parserRefused ? `; the server's HTTP parser refused the request (${part.parserRefused.reason})` : '';
      if (!parsed.ok) return `${where}: ${parsed.reason}${refused}`;
      if (bodyFullyRead(part) && parsed.value.toString('hex') !== part.requestBody.sha1) {
        return `${where}: Digest sha=${parsed.value.toString('base64')} is not the SHA-1 of the body (${Buffer.from(part.requestBody.sha1, 'hex').toString('base64')})`;
      }
      return undefined;
    }),

  'C-CONTENT-TYPE': (view) =>
    judgeParts(view, (part) => {
      const type = header(part, 'content-type');
      if (type?.split(';')[0]?.trim().toLowerCase() === 'application/octet-stream') return undefined;
      return `${describeExchange(part)}: Content-Type ${type === undefined ? 'missing' : `"${type}"`}`;
    }),

  'C-NO-OVERLAP': (view) => {
    if (view.parts.length === 0) return unobserved('the client sent no part');
    return observed([...view.overlapping.values()].map((send) => at([send.exchange, send.earlier], send.message, send.exchange)));
  },

  'C-COVERAGE': (view) =>
    judgeCommits(view, (commit) => {
      const acknowledged = view.acks.filter((ack) => ack.at <= commit.startMs).map((ack) => ack.record);
      const { overlaps } = coverageOf(acknowledged, view.run.fileSize);
      // A hole where the commit lists a range the server refused as an overlap: C-OVERLAP-NOT-PERSISTED names that listing.
      // (Such ranges count as covered here, so that refused neighbours, whose holes merge into one, are all left to it.)
      const listed = (commitParts(commit) ?? []).flatMap((entry) => {
        const span = entry as { offset?: unknown; size?: unknown };
        return typeof span.offset === 'number' && typeof span.size === 'number' ? [{ offset: span.offset, size: span.size }] : [];
      });
      const listedRefused = view.unpersisted.filter((span) => overlapsAny(span, listed));
      const { gaps } = coverageOf([...acknowledged, ...listedRefused], view.run.fileSize);
      const where = describeExchange(commit);
      return [
        ...gaps.map((gap) => at(commit, `${where}: bytes ${gap.offset}-${gap.offset + gap.size - 1} had not been acknowledged`)),
        ...overlaps.map((span) => at(commit, `${where}: bytes from ${span.offset} were acknowledged twice`)),
      ];
    }),

  'C-ORDER': (view) => {
    const firsts = firstAttempts(view);
    if (firsts.length === 0) return unobserved('the client sent no part');
    const drafts: Draft[] = [];
    firsts.forEach((lower, index) => {
      const lowerRange = rangeOf(lower);
      // The earliest first attempt of a higher part that this one trails by more than the tolerance.
      const overtaker = firsts.slice(0, index).find((higher) => {
        const higherRange = rangeOf(higher);
        return lowerRange && higherRange && higherRange.lo > lowerRange.lo && lower.startMs - higher.startMs > ORDER_TOLERANCE_MS;
      });
      if (!overtaker) return;
      const late = (lower.startMs - overtaker.startMs).toFixed(0);
      drafts.push(
        at(
          [overtaker, lower],
          `the part at offset ${lowerRange?.lo} (${describeExchange(lower)}) arrived ${late} ms after the part at offset ${rangeOf(overtaker)?.lo} (${describeExchange(overtaker)}); more than ${ORDER_TOLERANCE_MS} ms is out of order`,
        ),
      );
    });
    return observed(drafts);
  },

  'C-PARALLEL-MAX': (view) => {
    if (view.parts.length === 0) return unobserved('the client sent no part');
    const { peak, peakAt } = inFlight(view.parts);
    if (peak <= PARALLEL_MAX) return observed([]);
    const together = view.parts.filter((part) => part.startMs <= peakAt && part.endMs > peakAt);
    return observed([at(together, `${peak} part uploads were in flight at once; at most ${PARALLEL_MAX}`, null)]);
  },

  'C-PARALLEL-MIN': (view) => {
    const { run } = view;
    if (!serverAnswersSlowly(run)) return notApplicable(`the server did not delay every part answer by ${SLOW_SERVER_MS} ms or more`);
    if (plansPartFailures(run)) return notApplicable('the server injected part failures, and a client waits for a failed part’s retry');
    const total = totalPartsFor(run.fileSize, run.partSize);
    if (total < PARALLEL_MIN) return notApplicable(`the file has fewer than ${PARALLEL_MIN} parts`);
    const acks = [...view.acks].sort((a, b) => a.at - b.at);
    if (acks.length < total - (PARALLEL_MIN - 1)) return unobserved('the client did not upload the parts');
    const start = Math.min(...view.parts.map((part) => part.startMs));
    // Until fewer than PARALLEL_MIN parts remain unacknowledged.
    const end = acks[total - PARALLEL_MIN]?.at ?? start;
    const { mean, peak } = inFlight(view.parts, start, end);
    if (mean >= PARALLEL_MIN_MEAN) return observed([]);
    return observed([
      {
        requests: [],
        message: `while ${PARALLEL_MIN} or more parts remained, ${mean.toFixed(2)} part uploads were in flight on average (peak ${peak}); expected at least ${PARALLEL_MIN_MEAN}`,
      },
    ]);
  },

  'C-RETRY': (view) => {
    const failures = view.parts.filter((part) => retriable(view, part));
    if (failures.length === 0) return notApplicable('no part upload failed with 5xx, 429 or a dropped connection');
    const drafts: Draft[] = [];
    for (const failed of failures) {
      const retry = followUp(view, failed);
      if (!retry) {
        drafts.push({ ...at(failed, `${describeExchange(failed)} was never retried`, null), stops: true });
        continue;
      }
      const retryAfter = failed.status === 429 ? retryAfterOf(failed) : 0;
      const waited = retry.startMs - failed.endMs;
      if (waited + RETRY_AFTER_SLACK_MS < retryAfter * 1000)
        drafts.push(at([failed, retry], `${describeExchange(retry)} came ${waited.toFixed(0)} ms after a 429 with Retry-After ${retryAfter}`, null));
    }
    if (drafts.length > 0 || succeeded(view.run)) return observed(drafts);
    // Retried as it should, then stopped: the injected failure it retried does not excuse that.
    return unobserved('the client retried but did not complete the upload', false);
  },

  'C-RETRY-FIRST': (view) => {
    // An overlap answer for a range the server holds from an earlier, failed attempt is no failure to retry: C-RECOVER-STORED's situation.
    const failures = view.parts.filter(
      (part) => retriable(view, part) || (isOverlapAnswer(part) && !view.overlapping.has(part.seq) && !refusedForStoredPart(part, view.storedDespiteFailure)),
    );
    if (failures.length === 0) return notApplicable('no part upload failed');
    const firsts = firstAttempts(view);
    // The server cannot tell what the client had started or seen when events are closer together than the
    // tolerance: only failures answered that long after the last first attempt before them are judged, and
    // only first attempts arriving that long after the failed answer jump the retry.
    const settled = failures.filter((failed) => {
      const lastArrival = Math.max(...firsts.filter((first) => first.startMs <= failed.endMs).map((first) => first.startMs));
      return failed.endMs - lastArrival >= RETRY_FIRST_TOLERANCE_MS;
    });
    if (settled.length === 0) return notApplicable(`every part failure was answered within ${RETRY_FIRST_TOLERANCE_MS} ms of a part's arrival`);
    const drafts: Draft[] = [];
    for (const failed of settled) {
      const retry = followUp(view, failed);
      const until = retry?.startMs ?? Infinity;
      const jumped = firsts.find((first) => first.startMs > failed.endMs + RETRY_FIRST_TOLERANCE_MS && first.startMs < until);
      if (jumped)
        drafts.push(at([failed, jumped], `${describeExchange(jumped)} started after ${describeExchange(failed)} failed and before it was retried`, null));
    }
    return observed(drafts);
  },

  'C-OVERLAP-NOT-PERSISTED': (view) => {
    if (!view.parts.some(isOverlapAnswer)) return notApplicable('no part was answered range_overlaps_existing_part');
    // A record the server itself returned (listed, or named as the conflicting part) is a part it holds, not the refused one.
    const returned = returnedRecords(view.run.traffic);
    const drafts: Draft[] = [];
    for (const commit of view.commits) {
      for (const entry of commitParts(commit) ?? []) {
        const span = entry as { offset?: unknown; size?: unknown };
        if (typeof span.offset !== 'number' || typeof span.size !== 'number') continue;
        if (returned.some((record) => sameRecord(entry, record))) continue;
        if (overlapsAny({ offset: span.offset, size: span.size }, view.unpersisted)) {
          const refused = view.parts.filter((part) => {
            const range = rangeOf(part);
            return (
              isOverlapAnswer(part) &&
              range !== undefined &&
              overlapsAny({ offset: range.lo, size: rangeSize(range) }, [{ offset: span.offset as number, size: span.size as number }])
            );
          });
          drafts.push(
            at(
              [commit, ...refused],
              `${describeExchange(commit)} lists ${JSON.stringify(entry)}, a range the server answered range_overlaps_existing_part and never acknowledged`,
              commit,
            ),
          );
        }
      }
    }
    return observed(drafts);
  },

  'C-COMMIT-PARTS': (view) =>
    judgeCommits(view, (commit) => {
      const where = describeExchange(commit);
      const listed = commitParts(commit);
      if (!listed) return [at(commit, `${where}: the body has no "parts" array`)];
      // A listed range the server refused as an overlap is C-OVERLAP-NOT-PERSISTED's finding.
      const own = listed.filter((entry) => {
        const span = entry as { offset?: unknown; size?: unknown };
        return !(typeof span.offset === 'number' && typeof span.size === 'number' && overlapsAny({ offset: span.offset, size: span.size }, view.unpersisted));
      });
      const drafts: Draft[] = [];
      for (const ack of view.acks.filter((known) => known.at <= commit.startMs)) {
        const count = own.filter((entry) => sameRecord(entry, ack.record)).length;
        if (count === 0)
          drafts.push(at([ack.exchange, commit], `${where}: the part the server returned as ${JSON.stringify(ack.record)} is not listed as returned`, commit));
        if (count > 1) drafts.push(at([ack.exchange, commit], `${where}: part ${ack.record.part_id} is listed ${count} times`, commit));
      }
      for (const entry of own) {
        if (!view.acks.some((ack) => sameRecord(entry, ack.record)))
          drafts.push(at(commit, `${where}: lists ${JSON.stringify(entry)}, not a part record the server returned`));
      }
      return drafts;
    }),

  'C-COMMIT-SORTED': (view) =>
    judgeCommits(view, (commit) => {
      const offsets = (commitParts(commit) ?? []).map((entry) => (entry as { offset?: unknown }).offset);
      const unsorted = offsets.findIndex((offset, index) => index > 0 && Number(offset) < Number(offsets[index - 1]));
      return unsorted < 0
        ? []
        : [at(commit, `${describeExchange(commit)}: parts are not sorted by offset (${offsets.slice(0, 6).join(', ')}${offsets.length > 6 ? ', …' : ''})`)];
    }),

  'C-COMMIT-DIGEST': (view) =>
    judgeCommits(view, (commit) => {
      const parsed = parseDigest(header(commit, 'digest'));
      if (!parsed.ok) return [at(commit, `${describeExchange(commit)}: ${parsed.reason}`)];
      if (parsed.value.toString('hex') !== view.run.fileSha1) {
        return [
          at(
            commit,
            `${describeExchange(commit)}: Digest sha=${parsed.value.toString('base64')} is not the whole file's SHA-1 (${Buffer.from(view.run.fileSha1, 'hex').toString('base64')})`,
          ),
        ];
      }
      return [];
    }),

  'C-COMMIT-RETRY-AFTER': (view) => {
    const accepted = view.commits.filter((commit) => commit.status === 202);
    if (accepted.length === 0) return notApplicable('no commit was answered 202');
    const drafts: Draft[] = [];
    for (const answer of accepted) {
      const retryAfter = retryAfterOf(answer);
      const next = view.commits.find((commit) => commit.seq > answer.seq && commit.startMs >= answer.endMs);
      if (!next) {
        drafts.push({ ...at(answer, `after ${describeExchange(answer)} with Retry-After ${retryAfter}, the client never committed again`, null), stops: true });
        continue;
      }
      const waited = next.startMs - answer.endMs;
      if (waited + RETRY_AFTER_SLACK_MS < retryAfter * 1000)
        drafts.push(at([answer, next], `${describeExchange(next)} came ${waited.toFixed(0)} ms after a 202 with Retry-After ${retryAfter}`, null));
    }
    return observed(drafts);
  },

  'C-SUCCESS-HONEST': ({ run, commits }) => {
    if (run.exit.timedOut)
      return observed([{ requests: [], message: 'the client was killed at the timeout without reporting success or failure', stops: true }]);
    const ok = succeeded(run);
    const exitedZero = run.exit.code === 0;
    if (exitedZero && !ok) {
      const last = commits.at(-1);
      const why = last ? `the last commit was answered ${last.status}${errorCode(last) ? ` ${errorCode(last)}` : ''}` : 'it never committed';
      return observed([{ requests: last ? [last.seq] : [], message: `the client exited 0, but ${why}; no intact file was stored` }]);
    }
    if (!exitedZero && ok) return observed([{ requests: [], message: `the file was committed intact, but the client exited ${run.exit.code}` }]);
    return observed([]);
  },

  'C-RATE-LIMIT': (view) => {
    const calls = view.run.traffic.filter((exchange) => exchange.op === 'create' || exchange.op === 'create-version' || exchange.op === 'commit');
    const limited = calls.filter((exchange) => exchange.status === 429);
    if (limited.length === 0) return notApplicable('no create or commit was answered 429');
    const drafts: Draft[] = [];
    for (const answer of limited) {
      const retryAfter = retryAfterOf(answer);
      const next = calls.find((call) => call.op === answer.op && call.seq > answer.seq && call.startMs >= answer.endMs);
      if (!next) {
        // The client gave up at the 429: that is why the run went no further.
        drafts.push({
          ...at(answer, `after ${describeExchange(answer)} with Retry-After ${retryAfter}, the client never sent the ${answer.op} again`, null),
          stops: true,
        });
        continue;
      }
      const waited = next.startMs - answer.endMs;
      if (waited + RETRY_AFTER_SLACK_MS < retryAfter * 1000)
        drafts.push(at([answer, next], `${describeExchange(next)} came ${waited.toFixed(0)} ms after a 429 with Retry-After ${retryAfter}`, null));
    }
    return observed(drafts);
  },

  'C-RECOVER-STORED': (view) => {
    if (view.storedDespiteFailure.length === 0) return notApplicable('no part was stored although its answer failed');
    const { run } = view;
    // A stored part that is not the file's bytes at its range: no commit gives the file, and C-RANGE-FORMAT names the part.
    const wrongBytes = view.storedDespiteFailure.find(({ record }) => {
      const fileBytes = run.rangeSha1?.[rangeKey(record.offset, record.offset + record.size - 1)];
      return fileBytes !== undefined && fileBytes !== record.sha1;
    });
    if (wrongBytes)
      return unobserved(
        `the server stored ${describeExchange(wrongBytes.exchange)} as ${JSON.stringify(wrongBytes.record)}, not the file's bytes at that range`,
      );
    const drafts: Draft[] = [];
    let unseen: string | undefined;
    for (const { exchange: failed, record } of view.storedDespiteFailure) {
      const span = { offset: record.offset, size: record.size };
      const listedThere = view.commits.flatMap((commit) =>
        (commitParts(commit) ?? []).filter((entry) => {
          const { offset, size } = entry as { offset?: unknown; size?: unknown };
          return typeof offset === 'number' && typeof size === 'number' && overlapsAny({ offset, size }, [span]);
        }),
      );
      if (listedThere.some((entry) => sameRecord(entry, record))) continue;
      const where = `${describeExchange(failed)}, although the server stored it as ${JSON.stringify(record)}`;
      // Never followed up: C-RETRY's finding. Committed with another record or none for the range: the commit rules name it.
      if (!followUp(view, failed)) {
        unseen ??= `the client did nothing about ${where}`;
        continue;
      }
      if (view.commits.length > 0) {
        unseen ??= `the client committed ${listedThere.length > 0 ? 'a record the server never returned' : 'no record'} for ${where}`;
        continue;
      }
      // Stopped for another reason: a request the server refused that has nothing to do with the stored part.
      const other = run.traffic.find(
        (exchange) => isRefusal(exchange) && !isInjectedRefusal(exchange) && !refusedForStoredPart(exchange, view.storedDespiteFailure),
      );
      if (other) {
        unseen ??= `the client never committed; it stopped after the server turned down ${describeExchange(other)}`;
        continue;
      }
      const resent = view.parts.filter((part) => part.seq > failed.seq && rangeOf(part)?.lo === record.offset);
      const listed = run.traffic.some((exchange) => exchange.op === 'list' && exchange.seq > failed.seq);
      const tried = [
        resent.length > 0 ? `resent it ${resent.length} time(s) (${describeExchange(resent.at(-1) ?? failed)})` : '',
        listed ? 'listed the parts' : '',
      ]
        .filter(Boolean)
        .join(' and ');
      const end = run.exit.timedOut ? 'was killed at the timeout' : `exited ${run.exit.code}`;
      drafts.push({
        ...at([failed, ...resent], `${where}: the client ${tried}, but never committed that record and ${end}`, null),
        stops: true,
      });
    }
    if (drafts.length > 0) return observed(drafts);
    return unseen ? unobserved(unseen) : observed([]);
  },
};

/** Planned faults that never fired: the scenario could not put the client in the situation it describes. */
export function unfiredFaults(run: ClientRun): FaultReportEntry[] {
  return run.faults.filter((entry) => entry.fired === 0);
}

/** The rules whose situation a fault creates: where it never fires, they cannot be judged. */
function provokedBy({ op, action }: FaultInstruction): ClientRuleId[] {
  if (op === 'create' || op === 'commit') {
    if (action.kind === 'rate-limit') return ['C-RATE-LIMIT'];
    return action.kind === 'retry-later' ? ['C-COMMIT-RETRY-AFTER'] : [];
  }
  switch (action.kind) {
    case 'delay':
      return ['C-PARALLEL-MIN'];
    case 'overlap':
      return ['C-OVERLAP-NOT-PERSISTED', 'C-RETRY-FIRST'];
    default:
      return persists(action) ? ['C-RECOVER-STORED', 'C-RETRY', 'C-RETRY-FIRST'] : ['C-RETRY', 'C-RETRY-FIRST'];
  }
}

/**
 * Judges one run on every client rule. Two passes: each check on its own, then the rules the run could
 * not show are settled against the others' findings, so one root cause is named once:
 * - blocked by the rules with a finding on a request the server refused (or that stopped the run outright);
 * - not applicable when only a fault the scenario injected stopped the client (and the rule accepts that);
 * - failed otherwise: the client stopped although nothing it was told or refused explains it.
 */
/** Rules about the whole run, whatever sessions it opened: every create and request, the exit code, the waits at 429. */
const JUDGED_ACROSS_SESSIONS: ReadonlySet<ClientRuleId> = new Set<ClientRuleId>(['C-CREATE', 'C-AUTH', 'C-SUCCESS-HONEST', 'C-RATE-LIMIT']);

/**
 * Each rule's observation of a run. A client may give up an upload session and upload again in a new one
 * (after a commit answered 410, say): each session's parts, acknowledgements and commits are then judged
 * on their own (bytes sent again in the new session are no overlap, nor a retry of the old one's parts).
 * A rule seen in any session is judged on what every session showed; one seen in none takes what the last
 * session says about it, since the client moved on from the others.
 */
function observeBySession(run: ClientRun): (id: ClientRuleId) => Observation {
  const whole = viewOf(run);
  const sessions = sessionsOf(run.traffic);
  if (sessions.length <= 1) return (id) => CLIENT_CHECKS[id](whole);
  const views = sessions.map((session) => viewOf({ ...run, traffic: run.traffic.filter((exchange) => exchange.sessionId === session) }));
  return (id) => {
    if (JUDGED_ACROSS_SESSIONS.has(id)) return CLIENT_CHECKS[id](whole);
    const each = views.map((view) => CLIENT_CHECKS[id](view));
    const seen = each.filter((observation) => observation.kind === 'observed');
    if (seen.length > 0) return observed(seen.flatMap((observation) => observation.drafts));
    return each.at(-1) ?? CLIENT_CHECKS[id](whole);
  };
}

/** The upload sessions a run used, in the order the client opened (or first named) them. */
function sessionsOf(traffic: readonly Exchange[]): string[] {
  const opens = (exchange: Exchange) => exchange.op === 'create' || exchange.op === 'create-version';
  const created = traffic.filter((exchange) => opens(exchange) && exchange.status === 201);
  const named = traffic.filter((exchange) => !opens(exchange) && exchange.sessionId !== undefined);
  const ids = [...created, ...named].flatMap((exchange) => (exchange.sessionId === undefined ? [] : [exchange.sessionId]));
  return [...new Set(ids)];
}

/**
 * A run in which the client sent the file with Box's single-request upload (POST /files/content) and
 * opened no session: a tool's own choice for a file below its chunked-upload cutoff (rclone's is 50 MiB;
 * Box's guide itself keeps chunked uploads for files of 20 MB and more), not a chunked upload done wrong.
 */
function singleRequestUpload(run: ClientRun): Exchange | undefined {
  if (run.traffic.some((exchange) => exchange.op === 'create')) return undefined;
  return run.traffic.find((exchange) => exchange.op === 'upload');
}

/** Rules a single-request upload still shows: the token it sent, and whether its exit code told the truth. */
const JUDGED_WITHOUT_A_SESSION: ReadonlySet<ClientRuleId> = new Set<ClientRuleId>(['C-AUTH', 'C-SUCCESS-HONEST']);

/**
 * Refusals no finding on the refused request itself explains, traced to what caused them: the earliest
 * request of the same session with a finding, whether the server accepted it or not (a create that
 * declared the wrong file_size is accepted, and the parts that follow it are refused for it). Every rule
 * with a finding on that request explains the stop.
 */
function causesOfRefusals(
  traffic: readonly Exchange[],
  refusals: readonly Exchange[],
  observations: ReadonlyMap<ClientRuleId, Observation>,
): Map<ClientRuleId, Draft> {
  const drafts = [...observations].flatMap(([id, observation]) =>
    observation.kind === 'observed' ? observation.drafts.flatMap((draft) => (draft.about === undefined ? [] : [{ id, draft, about: draft.about }])) : [],
  );
  const explained = new Set(drafts.map(({ about }) => about));
  const bySeq = new Map(traffic.map((exchange) => [exchange.seq, exchange]));
  const stored = storedDespiteFailure(traffic);
  const causes = new Map<ClientRuleId, Draft>();
  for (const refusal of refusals) {
    // A resend refused because the server kept the failed attempt is the fault's doing (C-RECOVER-STORED's situation).
    if (explained.has(refusal.seq) || refusedForStoredPart(refusal, stored)) continue;
    const earlier = drafts.filter(({ about }) => about < refusal.seq && bySeq.get(about)?.sessionId === refusal.sessionId);
    if (earlier.length === 0) continue;
    const earliest = Math.min(...earlier.map(({ about }) => about));
    for (const { id, draft, about } of earlier) if (about === earliest && !causes.has(id)) causes.set(id, draft);
  }
  return causes;
}

export function judgeRun(run: ClientRun, runId: string): RunJudgement {
  const unfired = unfiredFaults(run);
  const single = singleRequestUpload(run);
  const observe = observeBySession(run);
  const observations = new Map<ClientRuleId, Observation>();
  for (const id of CLIENT_RULE_IDS) {
    if (single && !JUDGED_WITHOUT_A_SESSION.has(id)) {
      observations.set(
        id,
        notApplicable(
          `the client sent this ${run.fileSize}-byte file with Box's single-request upload (${describeExchange(single)}), not in an upload session`,
        ),
      );
      continue;
    }
    let observation = observe(id);
    // The situation the rule needs did not arise because a planned fault that creates it never fired: the
    // client never sent that request.
    const missed = unfired.filter(({ instruction }) => provokedBy(instruction).includes(id)).map(({ instruction }) => describeFault(instruction));
    if (observation.kind === 'not-applicable' && missed.length > 0)
      observation = unobserved(`the planned fault (${missed.join('; ')}) never fired because the client never sent that request`);
    observations.set(id, observation);
  }
  const refusals = run.traffic.filter((exchange) => isRefusal(exchange) && !isInjectedRefusal(exchange));
  const injected = run.traffic.filter(isInjectedRefusal);
  const refused = new Set(refusals.map((exchange) => exchange.seq));
  const stoppers = new Map<ClientRuleId, Draft>();
  for (const [id, observation] of observations) {
    if (observation.kind !== 'observed') continue;
    const stopping = observation.drafts.find((draft) => draft.stops === true || (draft.about !== undefined && refused.has(draft.about)));
    if (stopping) stoppers.set(id, stopping);
  }
  for (const [id, draft] of causesOfRefusals(run.traffic, refusals, observations)) if (!stoppers.has(id)) stoppers.set(id, draft);
  const finding = (rule: ClientRuleId, draft: Draft): Finding => ({ rule, run: runId, requests: draft.requests, message: draft.message });
  const verdicts = {} as Record<ClientRuleId, RunVerdict>;
  for (const [id, observation] of observations) {
    if (observation.kind === 'observed') {
      verdicts[id] =
        observation.drafts.length === 0 ? { status: 'passed' } : { status: 'failed', findings: observation.drafts.map((draft) => finding(id, draft)) };
      continue;
    }
    if (observation.kind === 'not-applicable') {
      verdicts[id] = { status: 'not-applicable', reason: observation.reason };
      continue;
    }
    const blockers = [...stoppers.entries()].filter(([other]) => other !== id);
    const [firstBlocker] = blockers;
    if (firstBlocker) {
      verdicts[id] = {
        status: 'blocked',
        blockedBy: blockers.map(([other]) => other).sort(),
        reason: `not judged: ${observation.what}, stopped by ${firstBlocker[0]}: ${firstBlocker[1].message}`,
      };
      continue;
    }
    const [fault] = injected;
    if (observation.excusedByInjectedFaults && fault) {
      verdicts[id] = { status: 'not-applicable', reason: `not judged: ${observation.what}; it stopped after the injected fault "${fault.fault?.description}"` };
      continue;
    }
    const [unexplained] = refusals;
    const message = unexplained
      ? `${observation.what}; it stopped after the server turned down ${describeExchange(unexplained)}`
      : run.exit.timedOut
        ? `${observation.what} before it was killed at the timeout`
        : `${observation.what}, though the server accepted every request it made${injected.length > 0 ? ' but the injected faults' : ''} (exit code ${run.exit.code})`;
    verdicts[id] = { status: 'failed', findings: [finding(id, { requests: unexplained ? [unexplained.seq] : [], message })] };
  }
  return { runId, verdicts, unfired: unfired.map(({ instruction }) => describeFault(instruction)) };
}

/** What a run's judgement contributes to the reports: its findings and blocked rules, as data. */
export function findingsOf(judgement: RunJudgement): FindingsAttachment {
  const findings: Finding[] = [];
  const blocked: BlockedRule[] = [];
  for (const id of CLIENT_RULE_IDS) {
    const verdict = judgement.verdicts[id];
    if (verdict.status === 'failed') findings.push(...verdict.findings);
    if (verdict.status === 'blocked') blocked.push({ rule: id, run: judgement.runId, blockedBy: verdict.blockedBy, reason: verdict.reason });
  }
  return { findings, blocked };
}
