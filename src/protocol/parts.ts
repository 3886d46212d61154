/** A part of a file as the session's part size cuts it: bytes [offset, offset + size). */
export interface PlannedPart {
  /** 0-based position in the file. */
  readonly index: number;
  readonly offset: number;
  readonly size: number;
}

export function totalPartsFor(fileSize: number, partSize: number): number {
  assertPositiveInteger(partSize, 'part size');
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new RangeError(`file size must be a non-negative integer, got ${fileSize}`);
  return Math.ceil(fileSize / partSize);
}

/** The one way to cut a file: every part `partSize` bytes but the last, which holds the rest (1..partSize bytes). */
export function planParts(fileSize: number, partSize: number): PlannedPart[] {
  const total = totalPartsFor(fileSize, partSize);
  const parts: PlannedPart[] = [];
  for (let index = 0; index < total; index++) parts.push(partAt(index, fileSize, partSize));
  return parts;
}

export function partAt(index: number, fileSize: number, partSize: number): PlannedPart {
  const offset = index * partSize;
  return { index, offset, size: Math.min(partSize, fileSize - offset) };
}

/** The index of the part starting at `offset`, or undefined when `offset` is not a part boundary of the file. */
export function partIndexAt(offset: number, fileSize: number, partSize: number): number | undefined {
  if (offset < 0 || offset >= fileSize || offset % partSize !== 0) return undefined;
  return offset / partSize;
}

export interface Span {
  readonly offset: number;
  readonly size: number;
}

export function spansOverlap(a: Span, b: Span): boolean {
  return a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

/**
 * The byte ranges of [0, fileSize) that `spans` leave uncovered, and those they cover more than once.
 * Spans are half-open; the answer is sorted by offset.
 */
export function coverageOf(spans: readonly Span[], fileSize: number): { gaps: Span[]; overlaps: Span[] } {
  const sorted = [...spans].sort((a, b) => a.offset - b.offset || a.size - b.size);
  const gaps: Span[] = [];
  const overlaps: Span[] = [];
  let reached = 0;
  for (const span of sorted) {
    const end = span.offset + span.size;
    if (span.offset > reached) gaps.push({ offset: reached, size: span.offset - reached });
    else if (span.offset < reached) overlaps.push({ offset: span.offset, size: Math.min(end, reached) - span.offset });
    reached = Math.max(reached, end);
  }
  if (reached < fileSize) gaps.push({ offset: reached, size: fileSize - reached });
  return { gaps, overlaps };
}

function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${what} must be a positive integer, got ${value}`);
}
