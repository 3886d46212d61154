import { isSha1Hex } from './digest.ts';

export interface SessionEndpoints {
  upload_part: string;
  commit: string;
  abort: string;
  list_parts: string;
  status: string;
  log_event: string;
}

export interface UploadSession {
  id: string;
  type: 'upload_session';
  session_expires_at: string;
  part_size: number;
  total_parts: number;
  num_parts_processed: number;
  session_endpoints: SessionEndpoints;
}

export interface UploadPart {
  part_id: string;
  offset: number;
  size: number;
  sha1: string;
}

export interface BoxFile {
  type: 'file';
  id: string;
  name: string;
  size: number;
  sha1: string;
  parent: { type: 'folder'; id: string };
  [extra: string]: unknown;
}

export interface PartsPage {
  entries: UploadPart[];
  total_count: number;
  limit: number;
  offset: number;
}

/** Box's ClientError body. */
export interface BoxError {
  type: 'error';
  status: number;
  code: string;
  message: string;
  context_info: Record<string, unknown>;
  help_url: string;
  request_id: string;
}

export const ERROR_HELP_URL = 'https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/';

export function boxError(status: number, code: string, message: string, requestId: string, contextInfo: Record<string, unknown> = {}): BoxError {
  return { type: 'error', status, code, message, context_info: contextInfo, help_url: ERROR_HELP_URL, request_id: requestId };
}

export type Checked<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

export interface CreateSessionRequest {
  folder_id: string;
  file_name: string;
  file_size: number;
}

/** A JSON object (not an array, not null): the one reader every module uses before it looks at a field. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Box's name rules: 1..255 characters, no `/` or `\`, not `.` or `..`, no leading or trailing space. */
export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 255) return 'file_name must have 1 to 255 characters';
  if (/[/\\]/.test(name)) return 'file_name must not contain "/" or "\\"';
  if (name === '.' || name === '..') return 'file_name must not be "." or ".."';
  if (name !== name.trim()) return 'file_name must not start or end with a space';
  return undefined;
}

export function checkCreateSessionBody(body: unknown, minFileSize: number): Checked<CreateSessionRequest> {
  if (!isRecord(body)) return { ok: false, status: 400, code: 'bad_request', message: 'Body must be a JSON object' };
  const { folder_id: folderId, file_name: fileName, file_size: fileSize } = body;
  if (folderId === undefined) return { ok: false, status: 400, code: 'missing_destination', message: 'folder_id is required' };
  if (typeof folderId !== 'string' || !/^(0|[1-9][0-9]*)$/.test(folderId)) {
    return { ok: false, status: 400, code: 'invalid_folder_id', message: 'folder_id must be a string of digits' };
  }
  if (fileName === undefined) return { ok: false, status: 400, code: 'missing_file_name', message: 'file_name is required' };
  if (typeof fileName !== 'string') return { ok: false, status: 400, code: 'item_name_invalid', message: 'file_name must be a string' };
  const nameProblem = fileNameProblem(fileName);
  if (nameProblem) return { ok: false, status: 400, code: 'item_name_invalid', message: nameProblem };
  if (fileSize === undefined) return { ok: false, status: 400, code: 'missing_file_size', message: 'file_size is required' };
  if (typeof fileSize !== 'number' || !Number.isSafeInteger(fileSize) || fileSize <= 0) {
    return { ok: false, status: 400, code: 'invalid_file_size', message: 'file_size must be a positive integer' };
  }
  if (fileSize < minFileSize) {
    return { ok: false, status: 400, code: 'file_size_too_small', message: `Chunked upload needs a file of at least ${minFileSize} bytes` };
  }
  return { ok: true, value: { folder_id: folderId, file_name: fileName, file_size: fileSize } };
}

export function isUploadPart(value: unknown): value is UploadPart {
  return (
    isRecord(value) && typeof value.part_id === 'string' && Number.isSafeInteger(value.offset) && Number.isSafeInteger(value.size) && isSha1Hex(value.sha1)
  );
}

export function checkCommitBody(body: unknown): Checked<UploadPart[]> {
  if (!isRecord(body)) return { ok: false, status: 400, code: 'bad_request', message: 'Body must be a JSON object' };
  if (!Array.isArray(body.parts)) return { ok: false, status: 400, code: 'bad_request', message: 'parts must be an array' };
  const index = body.parts.findIndex((part) => !isUploadPart(part));
  if (index >= 0) {
    return { ok: false, status: 400, code: 'bad_request', message: `parts[${index}] must have part_id, offset, size and a 40-hex sha1` };
  }
  return { ok: true, value: body.parts as UploadPart[] };
}

const ENDPOINT_NAMES = ['upload_part', 'commit', 'abort', 'list_parts', 'status'] as const;

/** What keeps a client from using an upload_session at all (id, part_size, absolute endpoints), or undefined. */
export function unusableSessionProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the upload session is not a JSON object';
  if (typeof value.id !== 'string' || value.id === '') return 'id is missing';
  const partSize = value.part_size;
  if (typeof partSize !== 'number' || !Number.isSafeInteger(partSize) || partSize <= 0)
    return `part_size ${JSON.stringify(partSize)} is not a positive integer`;
  const endpoints = value.session_endpoints;
  if (!isRecord(endpoints)) return 'session_endpoints is missing';
  for (const name of ENDPOINT_NAMES) {
    const url = endpoints[name];
    if (typeof url !== 'string' || !/^https?:\/\/[^/]+\//.test(url)) return `session_endpoints.${name} is not an absolute URL`;
  }
  return undefined;
}

/** Everything wrong with a new upload_session for a file of `fileSize` bytes (S-CREATE), or undefined. */
export function uploadSessionProblem(value: unknown, fileSize: number): string | undefined {
  const unusable = unusableSessionProblem(value);
  if (unusable || !isRecord(value)) return unusable;
  if (value.type !== 'upload_session') return `type is ${JSON.stringify(value.type)}, not "upload_session"`;
  const expectedParts = Math.ceil(fileSize / (value.part_size as number));
  if (value.total_parts !== expectedParts)
    return `total_parts is ${JSON.stringify(value.total_parts)}, expected ceil(${fileSize}/${value.part_size}) = ${expectedParts}`;
  if (value.num_parts_processed !== 0) return `num_parts_processed is ${JSON.stringify(value.num_parts_processed)}, expected 0`;
  return undefined;
}

/** Whether a client can work with `value` as an upload_session: it plans parts from part_size itself and needs only the endpoints. */
export function isUsableSession(value: unknown): value is UploadSession {
  return unusableSessionProblem(value) === undefined;
}

/** The session a client can work with, or a TypeError saying why it is not one. */
export function asUploadSession(value: unknown): UploadSession {
  if (isUsableSession(value)) return value;
  throw new TypeError(`Unusable upload session: ${unusableSessionProblem(value)}`);
}
