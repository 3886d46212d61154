/** An inclusive byte range of a part, as `Content-Range: bytes <lo>-<hi>/<total>` carries it. */
export interface ContentRange {
  readonly lo: number;
  readonly hi: number;
  readonly total: number;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function contentRangeFor(offset: number, size: number, total: number): string {
  if (size <= 0) throw new RangeError('a part holds at least one byte');
  return `bytes ${offset}-${offset + size - 1}/${total}`;
}

// Digits without leading zeros; the range unit is case-insensitive (RFC 9110 §14.1), everything else exact.
const CONTENT_RANGE = /^bytes (0|[1-9][0-9]*)-(0|[1-9][0-9]*)\/(0|[1-9][0-9]*)$/i;

/** Strict parse: one space, no padding, no `*`, lo <= hi < total, all safe integers. */
export function parseContentRange(header: string | undefined): Parsed<ContentRange> {
  if (header === undefined || header === '') return { ok: false, reason: 'Content-Range header is missing' };
  const match = CONTENT_RANGE.exec(header);
  if (!match) return { ok: false, reason: `Content-Range "${header}" is not of the form "bytes <lo>-<hi>/<total>"` };
  const [lo, hi, total] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  if (![lo, hi, total].every(Number.isSafeInteger)) return { ok: false, reason: `Content-Range "${header}" has a number too large` };
  if (lo > hi) return { ok: false, reason: `Content-Range "${header}" ends before it starts` };
  if (hi >= total) return { ok: false, reason: `Content-Range "${header}" ends at or past its total` };
  return { ok: true, value: { lo, hi, total } };
}

export function rangeSize(range: ContentRange): number {
  return range.hi - range.lo + 1;
}
