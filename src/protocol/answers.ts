// Typed readers of Box's answer bodies: the one place a body's fields are looked up. Each takes the
// parsed body as it came (unknown) and gives back the field, or undefined when the body does not have it.
import { isRecord } from './shapes.ts';

/** The `code` of Box's error body. */
export function errorCodeOf(body: unknown): string | undefined {
  const code = fieldOf(body, 'code');
  return typeof code === 'string' ? code : undefined;
}

/** A field of a JSON object body, as sent (any type), or undefined when the body is not an object. */
export function fieldOf(body: unknown, field: string): unknown {
  return isRecord(body) ? body[field] : undefined;
}

/** Whether a value read from an answer is a whole number from 0 up (a count, an offset, a limit). */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The `message` of Box's error body. */
export function errorMessageOf(body: unknown): string | undefined {
  return isRecord(body) && typeof body.message === 'string' ? body.message : undefined;
}

/** The part record of an upload-part answer (`{part: {...}}`), as sent: the caller judges whether it is an UploadPart. */
export function partRecordOf(body: unknown): unknown {
  return fieldOf(body, 'part');
}

/** The file a commit created: the first entry of its answer (`{total_count: 1, entries: [file]}`). */
export function committedEntryOf(body: unknown): Record<string, unknown> | undefined {
  const entries = fieldOf(body, 'entries');
  const first: unknown = Array.isArray(entries) ? entries[0] : undefined;
  return isRecord(first) ? first : undefined;
}

/** The id of the file a commit created. */
export function committedFileIdOf(body: unknown): string | undefined {
  const id = committedEntryOf(body)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** One page of a list-parts answer: its entries as sent, and its total_count as sent (judged by the caller). */
export interface PartsPageRead {
  readonly entries: readonly unknown[];
  readonly totalCount: unknown;
}

/** A list-parts page, or undefined when the body has no `entries` array. */
export function partsPageOf(body: unknown): PartsPageRead | undefined {
  if (!isRecord(body) || !Array.isArray(body.entries)) return undefined;
  return { entries: body.entries as unknown[], totalCount: body.total_count };
}
