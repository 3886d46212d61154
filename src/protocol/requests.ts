// The requests of a correct client, as Box's guide describes them: what the uploader sends, what the
// probe sends when it means a request to be right, and what the soak's valid traffic sends.
import { contentRangeFor } from './content-range.ts';
import { digestHeaderFor } from './digest.ts';
import type { CreateSessionRequest, UploadPart } from './shapes.ts';

/** Where sessions are created, under the API base. */
export const UPLOAD_SESSIONS_PATH = '/files/upload_sessions';

export function createSessionBody(folderId: string, fileName: string, fileSize: number): CreateSessionRequest {
  return { folder_id: folderId, file_name: fileName, file_size: fileSize };
}

export const JSON_CONTENT_TYPE = { 'content-type': 'application/json' } as const;

/** The headers of a part of `size` bytes at `offset` of a file of `fileSize` bytes, whose SHA-1 is `sha1`. */
export function partHeaders(offset: number, size: number, fileSize: number, sha1: Uint8Array): Record<string, string> {
  return {
    'content-type': 'application/octet-stream',
    'content-range': contentRangeFor(offset, size, fileSize),
    digest: digestHeaderFor(sha1),
  };
}

/** A commit's body: the part records, in the order given. */
export function commitBody(parts: readonly unknown[] | readonly UploadPart[]): string {
  return JSON.stringify({ parts });
}

/** A commit's headers: JSON, and the whole file's Digest (absent when `wholeFileSha1` is undefined). */
export function commitHeaders(wholeFileSha1: Uint8Array | undefined): Record<string, string> {
  return wholeFileSha1 === undefined ? { ...JSON_CONTENT_TYPE } : { ...JSON_CONTENT_TYPE, digest: digestHeaderFor(wholeFileSha1) };
}
