/**
 * Judgements of a server's answers, one small pure function each: the S- rules' conditions on what
 * came back. A problem is a sentence saying what is wrong; undefined means nothing is. Where the fields
 * of a JSON answer are judged against the values the kit expects, chai compares them (json-expect.ts)
 * and the problem names every differing field with both values.
 */
import type { JsonResponse } from '../http/transport.ts';
import { isSha1Hex } from '../protocol/digest.ts';
import type { ExpectedPart } from '../probe/exchange.ts';
import { fieldsOf, jsonMismatch } from './json-expect.ts';
import { isRecord } from '../protocol/shapes.ts';
import { committedEntryOf, fieldOf, isCount, partRecordOf } from '../protocol/answers.ts';

export function refusalProblem(response: JsonResponse): string | undefined {
  if (response.status >= 400 && response.status < 500) return undefined;
  return `expected a 4xx refusal, got HTTP ${response.status}${response.status >= 500 ? ' (a server error, not a refusal)' : ''}`;
}

export function statusProblem(response: JsonResponse, expected: number, code?: string): string | undefined {
  const got = fieldOf(response.body, 'code');
  if (response.status !== expected)
    return `expected HTTP ${expected}${code ? ` ${code}` : ''}, got HTTP ${response.status}${typeof got === 'string' ? ` ${got}` : ''}`;
  if (code !== undefined && got !== code) return `expected the code ${code}, got ${JSON.stringify(got)}`;
  return undefined;
}

/** Box's ClientError JSON: type "error", the HTTP status, a code, a message and a request_id. */
export function errorShapeProblem(response: JsonResponse): string | undefined {
  const body = response.body;
  if (!isRecord(body)) return `the ${response.status} answer is not a JSON object: ${JSON.stringify(response.text.slice(0, 120))}`;
  const mismatch = jsonMismatch(`the ${response.status} answer is not Box's error JSON`, fieldsOf(body, ['type', 'status']), {
    type: 'error',
    status: response.status,
  });
  if (mismatch) return mismatch;
  for (const field of ['code', 'message', 'request_id'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') return `${field} is missing or not a string`;
  }
  return undefined;
}

/** `{part: {part_id, offset, size, sha1}}` for exactly the bytes sent. */
export function partRecordProblem(response: JsonResponse, sent: { offset: number; size: number; sha1: string }): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const part = partRecordOf(response.body);
  if (!isRecord(part)) return `the answer has no "part" object: ${response.text.slice(0, 200)}`;
  if (typeof part.part_id !== 'string' || part.part_id === '') return 'part.part_id is missing or not a string';
  const answered = { ...fieldsOf(part, ['offset', 'size']), sha1: isSha1Hex(part.sha1) ? part.sha1.toLowerCase() : part.sha1 };
  const expected = { offset: sent.offset, size: sent.size, sha1: sent.sha1 };
  const mismatch = jsonMismatch(`the part record is not that of the ${sent.size} bytes sent at offset ${sent.offset}`, { part: answered }, { part: expected });
  return mismatch && !isSha1Hex(part.sha1) ? `${mismatch} (part.sha1 is not 40 hex characters)` : mismatch;
}

/** How an entry differs from the part the kit sent there, or undefined: offset and size as sent, sha1 as sent (or as the server first answered it), the part_id it answered. */
export function listedPartProblem(entry: Record<string, unknown>, part: ExpectedPart): string | undefined {
  const sha1 = part.answeredSha1 !== undefined && entry.sha1 === part.answeredSha1 ? part.answeredSha1 : part.sha1;
  const expected = { size: part.size, sha1, ...(part.partId === undefined ? {} : { part_id: part.partId }) };
  return jsonMismatch(
    `the part at offset ${part.offset} is listed unlike the part stored there (the bytes sent${part.partId === undefined ? '' : ', the part_id answered'})`,
    fieldsOf(entry, Object.keys(expected)),
    expected,
  );
}

/**
 * Entries listed (from one page or several) against the parts the kit had acknowledged: each entry one of
 * them, none twice, and, when `complete`, every one of them.
 */
export function listedPartsProblem(entries: readonly unknown[], expected: readonly ExpectedPart[], complete: boolean): string | undefined {
  const byOffset = new Map(expected.map((part) => [part.offset, part]));
  const seen = new Set<number>();
  for (const entry of entries) {
    if (!isRecord(entry)) return `an entry is not an object: ${JSON.stringify(entry)}`;
    const part = typeof entry.offset === 'number' ? byOffset.get(entry.offset) : undefined;
    if (!part) return `an entry at offset ${JSON.stringify(entry.offset)} is listed, but no part was stored there`;
    if (seen.has(part.offset)) return `the part at offset ${part.offset} is listed twice`;
    seen.add(part.offset);
    const problem = listedPartProblem(entry, part);
    if (problem) return problem;
  }
  if (complete && seen.size < expected.length) {
    const missing = expected.filter((part) => !seen.has(part.offset)).map((part) => part.offset);
    return `${missing.length} stored part(s) are not listed, at offsets ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`;
  }
  return undefined;
}

/**
 * One list-parts page: 200 with `entries` and `total_count` = the parts acknowledged; the entries are
 * acknowledged parts, none twice; a page whose size is known (the `limit` asked for, or the one the
 * answer states) holds as many as remain from its offset.
 */
export function partsPageProblem(
  response: JsonResponse,
  expected: readonly ExpectedPart[],
  query: { offset?: number; limit?: number } = {},
): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const body = response.body;
  if (!isRecord(body) || !Array.isArray(body.entries)) return `the answer has no "entries" array: ${response.text.slice(0, 200)}`;
  if (body.total_count !== expected.length) return `total_count is ${JSON.stringify(body.total_count)}, ${expected.length} part(s) were stored`;
  const listed = listedPartsProblem(body.entries, expected, false);
  if (listed) return listed;
  const offset = query.offset ?? 0;
  const pageSize = query.limit ?? (isCount(body.limit) && body.limit > 0 ? body.limit : undefined);
  const due = pageSize === undefined ? undefined : Math.max(0, Math.min(pageSize, expected.length - offset));
  if (due !== undefined && body.entries.length !== due)
    return `the page at offset ${offset}${query.limit === undefined ? '' : ` with limit ${query.limit}`} holds ${body.entries.length} part(s), ${due} expected of the ${expected.length} stored`;
  return undefined;
}

/**
 * GET status: the upload_session, with `num_parts_processed` counting the parts acknowledged; with
 * `atMost`, not yet all of them (a server may still be processing parts, as its 202 commits say) but never more.
 */
export function sessionStatusProblem(response: JsonResponse, sessionId: string, processed: number, atMost = false): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const body = response.body;
  if (!isRecord(body)) return `the answer is not a JSON object: ${response.text.slice(0, 200)}`;
  const counted = body.num_parts_processed;
  // With `atMost`, any count from 0 to the parts stored is the one expected.
  const countCatchingUp = atMost && isCount(counted) && counted <= processed;
  return jsonMismatch(
    `the status is not the upload_session ${sessionId} counting ${atMost ? 'at most ' : ''}the ${processed} part(s) stored`,
    fieldsOf(body, ['type', 'id', 'num_parts_processed']),
    { type: 'upload_session', id: sessionId, num_parts_processed: countCatchingUp ? counted : processed },
  );
}

/** 201 `{entries: [file]}` with a file of `size` bytes and, when given, the content's SHA-1 as its sha1. */
export function committedFileProblem(response: JsonResponse, size: number, sha1?: string): string | undefined {
  if (response.status !== 201) return `expected HTTP 201, got HTTP ${response.status}`;
  const file = committedEntryOf(response.body);
  if (!isRecord(file)) return `the answer has no file entry: ${response.text.slice(0, 200)}`;
  const expected = { type: 'file', size, ...(sha1 === undefined ? {} : { sha1 }) };
  const mismatch = jsonMismatch(
    `the file entry is not that of the ${size} bytes uploaded`,
    { entries: [fieldsOf(file, Object.keys(expected))] },
    { entries: [expected] },
  );
  if (mismatch) return mismatch;
  if (typeof file.id !== 'string') return `entries[0].id is ${JSON.stringify(file.id) ?? 'missing'}, not a file id`;
  return undefined;
}

/** A 200 download (`GET /files/{id}/content`) holding exactly the bytes uploaded. */
export function downloadedContentProblem(response: JsonResponse, size: number, sha1: string): string | undefined {
  if (response.status !== 200) return `expected HTTP 200, got HTTP ${response.status}`;
  const content = response.content;
  if (!content) return 'the download was not hashed';
  if (content.length !== size) return `the file's content is ${content.length} bytes, ${size} were uploaded`;
  if (content.sha1 !== sha1) return `the file's content hashes to ${content.sha1}, the uploaded bytes to ${sha1}`;
  return undefined;
}
