import { type ContentRange, rangeSize } from '../protocol/content-range.ts';
import { type Span, spansOverlap } from '../protocol/parts.ts';
import type { UploadPart } from '../protocol/shapes.ts';
import type { Exchange } from '../server/recorder.ts';

/** Views over recorded traffic that several rules share. Pure. */

export function describeExchange(exchange: Exchange): string {
  const part = exchange.partNumber === undefined ? '' : ` part ${exchange.partNumber} attempt ${exchange.attempt}`;
  const answer = exchange.dropped
    ? 'connection dropped'
    : exchange.status === 0
      ? 'no answer'
      : `${exchange.status}${errorCode(exchange) ? ` ${errorCode(exchange)}` : ''}`;
  return `request #${exchange.seq} (${exchange.method} ${exchange.op}${part}, ${answer})`;
}

export function errorCode(exchange: Exchange): string | undefined {
  return exchange.answer?.code;
}

export function header(exchange: Exchange, name: string): string | undefined {
  return exchange.requestHeaders[name];
}

export const partRequests = (traffic: readonly Exchange[]) => traffic.filter((exchange) => exchange.op === 'part');
export const commitRequests = (traffic: readonly Exchange[]) => traffic.filter((exchange) => exchange.op === 'commit');

/** The Content-Range of a part request, when it parses (as the record parsed it). */
export function rangeOf(exchange: Exchange): ContentRange | undefined {
  return exchange.range;
}

export function spanOf(range: ContentRange): Span {
  return { offset: range.lo, size: rangeSize(range) };
}

/** Whether the server read the whole body, so its length and SHA-1 describe what the client sent. */
export function bodyFullyRead(exchange: Exchange): boolean {
  // The parser refused the head: the body was never read.
  return !exchange.dropped && !exchange.clientAborted && !exchange.requestBody.truncated && exchange.parserRefused === undefined;
}

export interface Acknowledgement {
  record: UploadPart;
  exchange: Exchange;
  /** When the answer left the server. */
  at: number;
}

/** The part records a list-parts answer holds. */
function listedRecords(exchange: Exchange): UploadPart[] {
  if (exchange.op !== 'list' || exchange.status !== 200) return [];
  return exchange.answer?.listed ?? [];
}

export const sameRecord = (entry: unknown, record: UploadPart): boolean => {
  const e = entry as Record<string, unknown> | null;
  return e !== null && typeof e === 'object' && e.part_id === record.part_id && e.offset === record.offset && e.size === record.size && e.sha1 === record.sha1;
};

/**
 * Every part record the server told the client it holds, the first time it did: in the part's 200 answer,
 * or in a list of the session's parts (how a client learns of a part stored although its answer failed).
 */
export function acknowledgements(traffic: readonly Exchange[]): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  const seen = new Set<string>();
  const add = (record: UploadPart, exchange: Exchange) => {
    const key = `${record.part_id}@${record.offset}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ record, exchange, at: exchange.endMs });
  };
  for (const exchange of [...traffic].sort((a, b) => a.endMs - b.endMs)) {
    const record = exchange.op === 'part' ? exchange.answer?.part : undefined;
    if (exchange.status === 200 && record) add(record, exchange);
    for (const listed of listedRecords(exchange)) add(listed, exchange);
  }
  return out.sort((a, b) => a.exchange.seq - b.exchange.seq);
}

/** A part the server stored although it answered its upload with a failure (a fault with `persist`): C-RECOVER-STORED's situation. */
export interface StoredDespiteFailure {
  exchange: Exchange;
  record: UploadPart;
}

export function storedDespiteFailure(traffic: readonly Exchange[]): StoredDespiteFailure[] {
  return partRequests(traffic).flatMap((exchange) => {
    const record = exchange.fault?.storedPart;
    return record && isRefusal(exchange) ? [{ exchange, record }] : [];
  });
}

/** A range_overlaps_existing_part answer on a range the server holds from an earlier attempt that was answered with a failure. */
export function refusedForStoredPart(exchange: Exchange, stored: readonly StoredDespiteFailure[]): boolean {
  const range = rangeOf(exchange);
  return isOverlapAnswer(exchange) && range !== undefined && stored.some((entry) => entry.exchange.seq < exchange.seq && entry.record.offset === range.lo);
}

/** Part records the server handed the client in any answer: acknowledged, listed, or named as the conflicting part of an overlap. */
export function returnedRecords(traffic: readonly Exchange[]): UploadPart[] {
  const conflicting = partRequests(traffic).flatMap((exchange) => {
    const named = exchange.answer?.conflictingPart;
    return isOverlapAnswer(exchange) && named ? [named] : [];
  });
  return [...acknowledgements(traffic).map((ack) => ack.record), ...conflicting];
}

export const isOverlapAnswer = (exchange: Exchange) => exchange.status === 416 && errorCode(exchange) === 'range_overlaps_existing_part';

/** The server turned the request down: an error answer, or a connection it dropped. */
export const isRefusal = (exchange: Exchange) => exchange.dropped || exchange.status >= 400;

/**
 * Turned down by a fault the scenario injected, not by anything the client did. A delay fault only
 * slows an answer down: a refusal it is tagged on is the server's own.
 */
export const isInjectedRefusal = (exchange: Exchange) => isRefusal(exchange) && exchange.fault !== undefined && exchange.fault.action.kind !== 'delay';

const isAcknowledged = (exchange: Exchange) => exchange.status === 200 && exchange.answer?.part !== undefined;

/** A part request whose range overlaps one the client sent earlier, and that is not a retry of a failed attempt. */
export interface OverlappingSend {
  exchange: Exchange;
  earlier: Exchange;
  message: string;
}

/**
 * C-NO-OVERLAP's view: among the part requests whose ranges are cut on part boundaries (lo a multiple of
 * part_size, hi where that part ends), each one that overlaps a part the client sent before it, unless it
 * is a retry of exactly that range after the earlier attempt was answered without being acknowledged.
 * Ranges off the boundaries are left to the rules about cutting, so one mistake is named once.
 */
export function overlappingSends(parts: readonly Exchange[], partSize: number, fileSize: number): OverlappingSend[] {
  const cut = parts.flatMap((part) => {
    const range = rangeOf(part);
    const wellCut = range !== undefined && range.lo < fileSize && range.lo % partSize === 0 && range.hi === Math.min(range.lo + partSize, fileSize) - 1;
    return wellCut ? [{ part, range }] : [];
  });
  const found: OverlappingSend[] = [];
  cut.forEach(({ part, range }, index) => {
    for (const { part: earlier, range: other } of cut.slice(0, index)) {
      if (!spansOverlap(spanOf(range), spanOf(other))) continue;
      const same = other.lo === range.lo && other.hi === range.hi;
      const answeredBefore = earlier.endMs <= part.startMs;
      const acknowledged = isAcknowledged(earlier);
      if (same && answeredBefore && !acknowledged) continue;
      const bytes = `bytes ${other.lo}-${other.hi}`;
      const why = !answeredBefore
        ? `while ${describeExchange(earlier)} for ${same ? 'the same range' : bytes} was still in flight`
        : acknowledged
          ? `after ${describeExchange(earlier)} had stored ${bytes}`
          : `overlapping ${bytes} of ${describeExchange(earlier)}, a different range`;
      found.push({ exchange: part, earlier, message: `${describeExchange(part)}: sent bytes ${range.lo}-${range.hi} ${why}` });
      break;
    }
  });
  return found;
}

/**
 * Ranges the server answered with range_overlaps_existing_part and never acknowledged: what the client
 * must treat as not stored. C-OVERLAP-NOT-PERSISTED judges them; rules about coverage and the commit
 * list leave them to it, so one mistake is reported once.
 */
export function unpersistedOverlapSpans(traffic: readonly Exchange[]): Span[] {
  const acked = acknowledgements(traffic).map((ack) => ack.record);
  const spans: Span[] = [];
  for (const exchange of partRequests(traffic).filter(isOverlapAnswer)) {
    const range = rangeOf(exchange);
    if (!range) continue;
    const span = spanOf(range);
    if (!acked.some((record) => record.offset === span.offset && record.size === span.size)) spans.push(span);
  }
  return spans;
}

export function overlapsAny(span: Span, spans: readonly Span[]): boolean {
  return spans.some((other) => spansOverlap(span, other));
}

export function commitParts(exchange: Exchange): unknown[] | undefined {
  const parts = (exchange.requestBody.json as { parts?: unknown } | undefined)?.parts;
  return Array.isArray(parts) ? parts : undefined;
}
