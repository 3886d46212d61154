import { rangeSize } from '../protocol/content-range.ts';
import { parseDigest } from '../protocol/digest.ts';
import { coverageOf, totalPartsFor } from '../protocol/parts.ts';
import { type FaultReportEntry, describeFault } from '../server/faults.ts';
import type { Exchange } from '../server/recorder.ts';
import { inFlight } from './in-flight.ts';
import {
  acknowledgements,
  bodyFullyRead,
  commitParts,
  commitRequests,
  describeExchange,
  errorCode,
  header,
  isOverlapAnswer,
  overlapsAny,
  partRequests,
  rangeOf,
  spanOf,
  unpersistedOverlapSpans,
  withinAny,
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
}

export type Judgement = { status: 'passed' } | { status: 'failed'; findings: string[] } | { status: 'skipped'; reason: string };

const passed: Judgement = { status: 'passed' };
const verdictOf = (findings: string[]): Judgement => (findings.length === 0 ? passed : { status: 'failed', findings });

/**
 * Measurement tolerance on a Retry-After wait, as the server sees it (from the end of its answer to the
 * start of the next request). A client's timer is armed against its event loop's cached clock, so under
 * load a correct `sleep(Retry-After)` can arrive several ms early (993 ms was seen for a 1 s wait). 50 ms
 * still tells a client that honours Retry-After from one that retries at once or on its own backoff.
 */
const TIMER_SLACK_MS = 50;

function firstRejection(run: ClientRun, includeInjected = true): Exchange | undefined {
  return run.traffic.find((exchange) => (includeInjected || !exchange.fault) && (exchange.dropped || exchange.status === 0 || exchange.status >= 400));
}

/**
 * A rule needs evidence the client never produced. If the client stopped after the server turned a
 * request down (a rule violation, or an injected fault), the rule about that request carries the blame
 * and this one is not judged; otherwise the client stopped for no reason, and that fails the rule.
 */
function notReached(run: ClientRun, what: string, { excusedByInjectedFaults = true } = {}): Judgement {
  const rejected = firstRejection(run, excusedByInjectedFaults);
  if (rejected) {
    const why = rejected.fault ? `the injected fault "${rejected.fault.description}"` : `the server turned down ${describeExchange(rejected)}`;
    return { status: 'skipped', reason: `not judged: ${what}; it stopped after ${why}` };
  }
  if (run.exit.timedOut) return { status: 'failed', findings: [`${what} before it was killed at the timeout`] };
  return { status: 'failed', findings: [`${what}, though the server accepted every request it made (exit code ${run.exit.code})`] };
}

function judgeParts(run: ClientRun, check: (part: Exchange) => string | undefined): Judgement {
  const parts = partRequests(run.traffic);
  if (parts.length === 0) return notReached(run, 'the client sent no part');
  return verdictOf(parts.map(check).filter((finding): finding is string => finding !== undefined));
}

function judgeCommits(run: ClientRun, check: (commit: Exchange) => string[]): Judgement {
  const commits = commitRequests(run.traffic);
  if (commits.length === 0) return notReached(run, 'the client never committed');
  return verdictOf(commits.flatMap(check));
}

function succeeded(run: ClientRun): boolean {
  const created = commitRequests(run.traffic).some((commit) => commit.status === 201);
  return created && run.stored !== undefined && run.stored.size === run.fileSize && run.stored.sha1 === run.fileSha1;
}

/** Part attempts that failed in a way a client should retry (5xx, 429, dropped connection). */
function retriableFailures(run: ClientRun): Exchange[] {
  return partRequests(run.traffic).filter((part) => part.dropped || part.status === 429 || part.status >= 500);
}

function laterAttempt(run: ClientRun, failed: Exchange): Exchange | undefined {
  const range = rangeOf(failed);
  return partRequests(run.traffic).find((part) => {
    const other = rangeOf(part);
    return part.startMs >= failed.endMs && other !== undefined && range !== undefined && other.lo === range.lo;
  });
}

/** The first attempt of each distinct part range, by the time the server saw it start. */
function firstAttempts(run: ClientRun): Exchange[] {
  const seen = new Set<number>();
  const firsts: Exchange[] = [];
  for (const part of [...partRequests(run.traffic)].sort((a, b) => a.startMs - b.startMs)) {
    const range = rangeOf(part);
    if (!range || seen.has(range.lo)) continue;
    seen.add(range.lo);
    firsts.push(part);
  }
  return firsts;
}

export const CLIENT_CHECKS: Readonly<Record<string, (run: ClientRun) => Judgement>> = {
  'C-CREATE': (run) => {
    const creates = run.traffic.filter((exchange) => exchange.op === 'create');
    if (creates.length === 0) return { status: 'failed', findings: ['the client never sent POST …/files/upload_sessions'] };
    return verdictOf(
      creates.flatMap((create) => {
        const body = create.requestBody.json as Record<string, unknown> | undefined;
        const where = describeExchange(create);
        if (typeof body !== 'object' || body === null) return [`${where}: the body is not a JSON object`];
        const findings: string[] = [];
        if (body.folder_id !== run.folderId) findings.push(`${where}: folder_id is ${JSON.stringify(body.folder_id)}, expected "${run.folderId}"`);
        if (body.file_name !== run.fileName) findings.push(`${where}: file_name is ${JSON.stringify(body.file_name)}, expected "${run.fileName}"`);
        if (body.file_size !== run.fileSize) findings.push(`${where}: file_size is ${JSON.stringify(body.file_size)}, the file has ${run.fileSize} bytes`);
        return findings;
      }),
    );
  },

  'C-AUTH': (run) => {
    if (run.traffic.length === 0) return { status: 'failed', findings: ['the client sent no request'] };
    return verdictOf(
      run.traffic
        .filter((exchange) => exchange.auth !== 'valid')
        .map((exchange) => {
          const how = {
            missing: 'no Authorization header',
            malformed: `Authorization "${header(exchange, 'authorization') === undefined ? '' : 'Bearer <redacted>'}" not of the form "Bearer <token>"`,
            'wrong-token': 'a bearer token other than the one given',
          }[exchange.auth as 'missing' | 'malformed' | 'wrong-token'];
          return `${describeExchange(exchange)}: ${how}`;
        }),
    );
  },

  'C-PART-SIZE': (run) =>
    judgeParts(run, (part) => {
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

  'C-RANGE-FORMAT': (run) =>
    judgeParts(run, (part) => {
      const where = describeExchange(part);
      const value = header(part, 'content-range');
      const range = rangeOf(part);
      if (!range) return value === undefined ? `${where}: no Content-Range header` : `${where}: Content-Range "${value}" is not "bytes <lo>-<hi>/<total>"`;
      if (!bodyFullyRead(part)) return part.requestBody.truncated ? `${where}: the body is longer than the ${rangeSize(range)} bytes of "${value}"` : undefined;
      if (part.requestBody.length !== rangeSize(range))
        return `${where}: Content-Range "${value}" announces ${rangeSize(range)} bytes, the body has ${part.requestBody.length}`;
      return undefined;
    }),

  'C-RANGE-ALIGN': (run) =>
    judgeParts(run, (part) => {
      const range = rangeOf(part);
      if (!range || range.lo % run.partSize === 0) return undefined;
      return `${describeExchange(part)}: starts at ${range.lo}, not a multiple of part_size ${run.partSize}`;
    }),

  'C-RANGE-UPPER': (run) =>
    judgeParts(run, (part) => {
      const range = rangeOf(part);
      if (!range) return undefined;
      const last = range.lo + run.partSize >= run.fileSize;
      const expected = last ? run.fileSize - 1 : range.lo + run.partSize - 1;
      if (range.hi === expected) return undefined;
      return `${describeExchange(part)}: ends at ${range.hi}, expected ${expected} (${last ? 'the last part ends at file size - 1' : 'lo + part_size - 1'})`;
    }),

  'C-RANGE-TOTAL': (run) =>
    judgeParts(run, (part) => {
      const range = rangeOf(part);
      if (!range || range.total === run.fileSize) return undefined;
      return `${describeExchange(part)}: Content-Range total ${range.total}, the file has ${run.fileSize} bytes`;
    }),

  'C-DIGEST': (run) =>
    judgeParts(run, (part) => {
      const where = describeExchange(part);
      const parsed = parseDigest(header(part, 'digest'));
      if (!parsed.ok) return `${where}: ${parsed.reason}`;
      if (bodyFullyRead(part) && parsed.value.toString('hex') !== part.requestBody.sha1) {
        return `${where}: Digest sha=${parsed.value.toString('base64')} is not the SHA-1 of the body (${Buffer.from(part.requestBody.sha1, 'hex').toString('base64')})`;
      }
      return undefined;
    }),

  'C-CONTENT-TYPE': (run) =>
    judgeParts(run, (part) => {
      const type = header(part, 'content-type');
      if (type?.split(';')[0]?.trim().toLowerCase() === 'application/octet-stream') return undefined;
      return `${describeExchange(part)}: Content-Type ${type === undefined ? 'missing' : `"${type}"`}`;
    }),

  'C-NO-OVERLAP': (run) => {
    const acks = acknowledgements(run.traffic);
    return judgeParts(run, (part) => {
      const range = rangeOf(part);
      if (!range) return undefined;
      const earlier = acks.find((ack) => ack.at <= part.startMs && overlapsAny(spanOf(range), [ack.record]));
      if (!earlier) return undefined;
      return `${describeExchange(part)}: overlaps part ${earlier.record.part_id} (bytes ${earlier.record.offset}-${earlier.record.offset + earlier.record.size - 1}), acknowledged by request #${earlier.exchange.seq}`;
    });
  },

  'C-COVERAGE': (run) => {
    const acks = acknowledgements(run.traffic);
    const leftToOverlapRule = unpersistedOverlapSpans(run.traffic);
    return judgeCommits(run, (commit) => {
      const { gaps, overlaps } = coverageOf(
        acks.filter((ack) => ack.at <= commit.startMs).map((ack) => ack.record),
        run.fileSize,
      );
      const missing = gaps.filter((gap) => !withinAny(gap, leftToOverlapRule));
      const findings = missing.map((gap) => `${describeExchange(commit)}: bytes ${gap.offset}-${gap.offset + gap.size - 1} had not been acknowledged`);
      return findings.concat(overlaps.map((span) => `${describeExchange(commit)}: bytes from ${span.offset} were acknowledged twice`));
    });
  },

  'C-ORDER': (run) => {
    const firsts = firstAttempts(run);
    if (firsts.length === 0) return notReached(run, 'the client sent no part');
    const findings: string[] = [];
    for (const later of firsts) {
      const laterRange = rangeOf(later);
      // A lower part must start before any higher part has finished.
      const overtaken = firsts.find((lower) => {
        const lowerRange = rangeOf(lower);
        return lowerRange && laterRange && lowerRange.lo < laterRange.lo && lower.startMs > later.endMs;
      });
      if (overtaken)
        findings.push(
          `part at offset ${rangeOf(overtaken)?.lo} (${describeExchange(overtaken)}) started after part at offset ${laterRange?.lo} (${describeExchange(later)}) had finished`,
        );
    }
    return verdictOf(findings);
  },

  'C-PARALLEL-MAX': (run) => {
    const parts = partRequests(run.traffic);
    if (parts.length === 0) return notReached(run, 'the client sent no part');
    const { peak } = inFlight(parts);
    return peak <= 5 ? passed : { status: 'failed', findings: [`${peak} part uploads were in flight at once; at most 5`] };
  },

  'C-PARALLEL-MIN': (run) => {
    const parts = partRequests(run.traffic);
    const total = totalPartsFor(run.fileSize, run.partSize);
    if (total < 3) return { status: 'skipped', reason: 'not judged: the file has fewer than 3 parts' };
    const acks = acknowledgements(run.traffic).sort((a, b) => a.at - b.at);
    if (acks.length < total - 2) return notReached(run, 'the client did not upload the parts');
    const start = Math.min(...parts.map((part) => part.startMs));
    // Until fewer than 3 parts remain unacknowledged.
    const end = acks[total - 3]?.at ?? start;
    const { mean, peak } = inFlight(parts, start, end);
    if (mean >= 2.5) return passed;
    return {
      status: 'failed',
      findings: [`while 3 or more parts remained, ${mean.toFixed(2)} part uploads were in flight on average (peak ${peak}); expected 3 to 5`],
    };
  },

  'C-RETRY': (run) => {
    const failures = retriableFailures(run);
    if (failures.length === 0) return { status: 'skipped', reason: 'not judged: no part upload failed' };
    const findings: string[] = [];
    for (const failed of failures) {
      const retry = laterAttempt(run, failed);
      if (!retry) {
        findings.push(`${describeExchange(failed)} was never retried`);
        continue;
      }
      const retryAfter = failed.status === 429 ? Number(failed.responseHeaders['retry-after'] ?? 0) : 0;
      const waited = retry.startMs - failed.endMs;
      if (waited + TIMER_SLACK_MS < retryAfter * 1000)
        findings.push(`${describeExchange(retry)} came ${waited.toFixed(0)} ms after a 429 with Retry-After ${retryAfter}`);
    }
    if (findings.length > 0 || succeeded(run)) return verdictOf(findings);
    // Retried as it should, then stopped: only a request the server turned down on its own excuses that.
    return notReached(run, 'the client retried but did not complete the upload', { excusedByInjectedFaults: false });
  },

  'C-RETRY-FIRST': (run) => {
    const acks = acknowledgements(run.traffic);
    // An overlap answer for a range already acknowledged is the client's own re-send (C-NO-OVERLAP): nothing to retry.
    const refusedUnstored = (part: Exchange) => {
      const range = rangeOf(part);
      return isOverlapAnswer(part) && range !== undefined && !acks.some((ack) => ack.at <= part.startMs && ack.record.offset === range.lo);
    };
    const failures = partRequests(run.traffic).filter((part) => part.dropped || part.status === 429 || part.status >= 500 || refusedUnstored(part));
    if (failures.length === 0) return { status: 'skipped', reason: 'not judged: no part upload failed' };
    const firsts = firstAttempts(run);
    const findings: string[] = [];
    for (const failed of failures) {
      const retry = laterAttempt(run, failed);
      const until = retry?.startMs ?? Infinity;
      const jumped = firsts.find((first) => first.startMs > failed.endMs && first.startMs < until);
      if (jumped) findings.push(`${describeExchange(jumped)} started after ${describeExchange(failed)} failed and before it was retried`);
    }
    return verdictOf(findings);
  },

  'C-OVERLAP-NOT-PERSISTED': (run) => {
    const unpersisted = unpersistedOverlapSpans(run.traffic);
    if (!partRequests(run.traffic).some(isOverlapAnswer)) return { status: 'skipped', reason: 'not judged: no part was answered range_overlaps_existing_part' };
    const findings: string[] = [];
    for (const commit of commitRequests(run.traffic)) {
      for (const entry of commitParts(commit) ?? []) {
        const span = entry as { offset?: unknown; size?: unknown };
        if (typeof span.offset !== 'number' || typeof span.size !== 'number') continue;
        if (overlapsAny({ offset: span.offset, size: span.size }, unpersisted)) {
          findings.push(
            `${describeExchange(commit)} lists ${JSON.stringify(entry)}, a range the server answered range_overlaps_existing_part and never acknowledged`,
          );
        }
      }
    }
    const acked = acknowledgements(run.traffic).map((ack) => ack.record);
    const missing = coverageOf(acked, run.fileSize).gaps.some((gap) => overlapsAny(gap, unpersisted));
    if (run.exit.code === 0 && !run.exit.timedOut && missing)
      findings.push('the client exited 0 although a range answered range_overlaps_existing_part was never stored');
    return verdictOf(findings);
  },

  'C-COMMIT-PARTS': (run) => {
    const acks = acknowledgements(run.traffic);
    const leftToOverlapRule = unpersistedOverlapSpans(run.traffic);
    return judgeCommits(run, (commit) => {
      const where = describeExchange(commit);
      const listed = commitParts(commit);
      if (!listed) return [`${where}: the body has no "parts" array`];
      const own = listed.filter((entry) => {
        const span = entry as { offset?: unknown; size?: unknown };
        return !(typeof span.offset === 'number' && typeof span.size === 'number' && overlapsAny({ offset: span.offset, size: span.size }, leftToOverlapRule));
      });
      const findings: string[] = [];
      const same = (entry: unknown, record: { part_id: string; offset: number; size: number; sha1: string }) => {
        const e = entry as Record<string, unknown>;
        return e.part_id === record.part_id && e.offset === record.offset && e.size === record.size && e.sha1 === record.sha1;
      };
      const known = acks.filter((ack) => ack.at <= commit.startMs);
      for (const ack of known) {
        const count = own.filter((entry) => same(entry, ack.record)).length;
        if (count === 0) findings.push(`${where}: the part the server returned as ${JSON.stringify(ack.record)} is not listed as returned`);
        if (count > 1) findings.push(`${where}: part ${ack.record.part_id} is listed ${count} times`);
      }
      for (const entry of own) {
        if (!acks.some((ack) => same(entry, ack.record))) findings.push(`${where}: lists ${JSON.stringify(entry)}, not a part record the server returned`);
      }
      return findings;
    });
  },

  'C-COMMIT-SORTED': (run) =>
    judgeCommits(run, (commit) => {
      const offsets = (commitParts(commit) ?? []).map((entry) => (entry as { offset?: unknown }).offset);
      const unsorted = offsets.findIndex((offset, index) => index > 0 && Number(offset) < Number(offsets[index - 1]));
      return unsorted < 0
        ? []
        : [`${describeExchange(commit)}: parts are not sorted by offset (${offsets.slice(0, 6).join(', ')}${offsets.length > 6 ? ', …' : ''})`];
    }),

  'C-COMMIT-DIGEST': (run) =>
    judgeCommits(run, (commit) => {
      const parsed = parseDigest(header(commit, 'digest'));
      if (!parsed.ok) return [`${describeExchange(commit)}: ${parsed.reason}`];
      if (parsed.value.toString('hex') !== run.fileSha1) {
        return [
          `${describeExchange(commit)}: Digest sha=${parsed.value.toString('base64')} is not the whole file's SHA-1 (${Buffer.from(run.fileSha1, 'hex').toString('base64')})`,
        ];
      }
      return [];
    }),

  'C-COMMIT-RETRY-AFTER': (run) => {
    const commits = commitRequests(run.traffic);
    const accepted = commits.filter((commit) => commit.status === 202);
    if (accepted.length === 0)
      return commits.length === 0 ? notReached(run, 'the client never committed') : { status: 'skipped', reason: 'not judged: no commit was answered 202' };
    const findings: string[] = [];
    for (const answer of accepted) {
      const retryAfter = Number(answer.responseHeaders['retry-after'] ?? 0);
      const next = commits.find((commit) => commit.startMs >= answer.endMs);
      if (!next) {
        findings.push(`after ${describeExchange(answer)} with Retry-After ${retryAfter}, the client never committed again`);
        continue;
      }
      const waited = next.startMs - answer.endMs;
      if (waited + TIMER_SLACK_MS < retryAfter * 1000)
        findings.push(`${describeExchange(next)} came ${waited.toFixed(0)} ms after a 202 with Retry-After ${retryAfter}`);
    }
    return verdictOf(findings);
  },

  'C-SUCCESS-HONEST': (run) => {
    if (run.exit.timedOut) return { status: 'failed', findings: ['the client was killed at the timeout without reporting success or failure'] };
    const ok = succeeded(run);
    const exitedZero = run.exit.code === 0;
    if (exitedZero && !ok) {
      const commits = commitRequests(run.traffic);
      const last = commits.at(-1);
      const why = last ? `the last commit was answered ${last.status}${errorCode(last) ? ` ${errorCode(last)}` : ''}` : 'it never committed';
      return { status: 'failed', findings: [`the client exited 0, but ${why}; no intact file was stored`] };
    }
    if (!exitedZero && ok) return { status: 'failed', findings: [`the file was committed intact, but the client exited ${run.exit.code}`] };
    return passed;
  },
};

/** Planned faults that never fired: the scenario could not put the client in the situation it describes. */
export function unfiredFaults(run: ClientRun): string[] {
  return run.faults.filter((entry) => entry.fired === 0).map((entry) => describeFault(entry.instruction));
}

/** Judges one rule on one run, and refuses to pass a rule when the scenario's faults did not all fire. */
export function judgeClientRule(ruleId: string, run: ClientRun): Judgement {
  const check = CLIENT_CHECKS[ruleId];
  if (!check) throw new Error(`no check for rule ${ruleId}`);
  const judgement = check(run);
  if (judgement.status !== 'passed') return judgement;
  const unfired = unfiredFaults(run);
  if (unfired.length === 0) return judgement;
  return notReached(run, `the planned fault (${unfired.join('; ')}) never fired because the client never sent that request, so ${ruleId} could not be judged`);
}
