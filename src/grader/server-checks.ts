/**
 * Judgements of a server's answers, one small pure function each: the S- rules' conditions on what
 * came back. A problem is a sentence saying what is wrong; undefined means nothing is.
 */
import type { JsonResponse } from '../http/transport.ts';
import { isSha1Hex } from '../protocol/digest.ts';
import type { UploadPart } from '../protocol/shapes.ts';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function refusalProblem(response: JsonResponse): string | undefined {
  if (response.status >= 400 && response.status < 500) return undefined;
  return `expected a 4xx refusal, got HTTP ${response.status}${response.status >= 500 ? ' (a server error, not a refusal)' : ''}`;
}

export function statusProblem(response: JsonResponse, expected: number, code?: string): string | undefined {
  const got = (response.body as { code?: unknown } | undefined)?.code;
  if (response.status !== expected)
    return `expected HTTP ${expected}${code ? ` ${code}` : ''}, got HTTP ${response.status}${typeof got === 'string' ? ` ${got}` : ''}`;
  if (code !== undefined && got !== code) return `expected the code ${code}, got ${JSON.stringify(got)}`;
  return undefined;
}

/** Box's ClientError JSON: type "error", the HTTP status, a code, a message and a request_id. */
export function errorShapeProblem(response: JsonResponse): string | undefined {
  const body = response.body;
  if (!isRecord(body)) return `the ${response.status} answer is not a JSON object: ${JSON.stringify(response.text.slice(0, 120))}`;
  if (body.type !== 'error') return `type is ${JSON.stringify(body.type)}, not "error"`;
  if (body.status !== response.status) return `status is ${JSON.stringify(body.status)}, not the HTTP status ${response.status}`;
  for (const field of ['code', 'message', 'request_id'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') return `${field} is missing or not a string`;
  }
  return undefined;
}

/** `{part: {part_id, offset, size, sha1}}` for exactly the bytes sent. */
export function partRecordProblem(response: JsonResponse, sent: { offset: number; size: number; sha1: string }): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const part = (response.body as { part?: unknown } | undefined)?.part;
  if (!isRecord(part)) return `the answer has no "part" object: ${response.text.slice(0, 200)}`;
  if (typeof part.part_id !== 'string' || part.part_id === '') return 'part.part_id is missing or not a string';
  if (part.offset !== sent.offset) return `part.offset is ${JSON.stringify(part.offset)}, the range started at ${sent.offset}`;
  if (part.size !== sent.size) return `part.size is ${JSON.stringify(part.size)}, ${sent.size} bytes were sent`;
  if (!isSha1Hex(part.sha1)) return `part.sha1 ${JSON.stringify(part.sha1)} is not 40 hex characters`;
  if (part.sha1.toLowerCase() !== sent.sha1) return `part.sha1 is ${part.sha1}, the bytes sent hash to ${sent.sha1}`;
  return undefined;
}

const sameSpan = (a: { offset: unknown; size: unknown }, b: UploadPart) => a.offset === b.offset && a.size === b.size;

/** A list-parts page holding exactly `expected` (as a set), with `total_count`. */
export function partsPageProblem(response: JsonResponse, expected: readonly UploadPart[], totalCount: number): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const body = response.body;
  if (!isRecord(body) || !Array.isArray(body.entries)) return `the answer has no "entries" array: ${response.text.slice(0, 200)}`;
  if (body.total_count !== totalCount) return `total_count is ${JSON.stringify(body.total_count)}, ${totalCount} part(s) are stored`;
  const entries = body.entries.filter(isRecord);
  if (entries.length !== body.entries.length) return 'an entry is not an object';
  for (const part of expected) {
    const found = entries.filter((entry) => sameSpan(entry as { offset: unknown; size: unknown }, part));
    if (found.length !== 1) return `the part at offset ${part.offset} is listed ${found.length} times`;
    const entry = found[0] ?? {};
    if (entry.part_id !== part.part_id || entry.sha1 !== part.sha1)
      return `the part at offset ${part.offset} is listed as ${JSON.stringify(entry)}, stored as ${JSON.stringify(part)}`;
  }
  if (entries.length !== expected.length)
    return `${entries.length} entries listed, expected ${expected.length}: ${JSON.stringify(entries.map((entry) => entry.offset))}`;
  return undefined;
}

/** GET status: the upload_session, with `num_parts_processed` counting the stored parts. */
export function sessionStatusProblem(response: JsonResponse, sessionId: string, processed: number): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const body = response.body;
  if (!isRecord(body) || body.type !== 'upload_session') return `the answer is not an upload_session: ${response.text.slice(0, 200)}`;
  if (body.id !== sessionId) return `id is ${JSON.stringify(body.id)}, not ${sessionId}`;
  if (body.num_parts_processed !== processed) return `num_parts_processed is ${JSON.stringify(body.num_parts_processed)}, ${processed} part(s) are stored`;
  return undefined;
}

/** 201 `{entries: [file]}` with a file of `size` bytes and, when known, the content's SHA-1. */
export function committedFileProblem(response: JsonResponse, size: number, sha1?: string): string | undefined {
  if (response.status !== 201) return `expected HTTP 201, got HTTP ${response.status}`;
  const file = (response.body as { entries?: unknown[] } | undefined)?.entries?.[0];
  if (!isRecord(file)) return `the answer has no file entry: ${response.text.slice(0, 200)}`;
  if (file.type !== 'file' || typeof file.id !== 'string') return `the entry is not a file with an id: ${JSON.stringify(file)}`;
  if (file.size !== size) return `the file's size is ${JSON.stringify(file.size)}, ${size} bytes were uploaded`;
  if (sha1 !== undefined && typeof file.sha1 === 'string' && file.sha1 !== sha1) return `the file's sha1 is ${file.sha1}, the uploaded bytes hash to ${sha1}`;
  return undefined;
}
