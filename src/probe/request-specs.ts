// The probe's requests, built from what the kit means to send: a correct client's headers and bodies
// (src/protocol/requests.ts), each of which a case may replace, and what the kit expects back.
import { UPLOAD_SESSIONS_PATH, JSON_CONTENT_TYPE, commitBody, partHeaders } from '../protocol/requests.ts';
import type { UploadPart, UploadSession } from '../protocol/shapes.ts';
import type { AnswerDeadline } from './budget.ts';
import type { Credentials, Expectation } from './exchange.ts';
import type { SendSpec } from './send.ts';
import type { ProbeSession } from './session-model.ts';
import type { ServerTarget } from './target.ts';

export function createSpec(target: ServerTarget, body: unknown, credentials: Credentials, expect: Expectation): SendSpec {
  return {
    kind: 'create',
    method: 'POST',
    url: `${target.baseUrl}${UPLOAD_SESSIONS_PATH}`,
    headers: { ...JSON_CONTENT_TYPE },
    body: JSON.stringify(body),
    credentials,
    expect,
  };
}

/** A PUT of `body` as bytes `range` of the file, with the headers a correct client sends, each of which `overrides` may replace or drop (undefined). */
export function partSpec(
  file: ProbeSession,
  range: { lo: number; hi: number },
  body: Buffer,
  sha1: Buffer,
  overrides: Record<string, string | undefined>,
  credentials: Credentials,
  expect: Expectation,
): SendSpec {
  const headers: Record<string, string | undefined> = { ...partHeaders(range.lo, range.hi - range.lo + 1, file.fileSize, sha1), ...overrides };
  const present = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return {
    kind: 'part',
    method: 'PUT',
    url: file.session.session_endpoints.upload_part,
    headers: present,
    body,
    bodySha1: sha1.toString('hex'),
    bytes: `${body.length} bytes sent for bytes ${range.lo}-${range.hi}; the file's bytes are seededBytes("${file.seed}", offset, length) (src/protocol/seeded-bytes.ts)`,
    credentials,
    session: file.session.id,
    expect,
  };
}

export function listSpec(file: ProbeSession, query: { offset?: number; limit?: number }, credentials: Credentials, expect: Expectation): SendSpec {
  const url = new URL(file.session.session_endpoints.list_parts);
  if (query.offset !== undefined) url.searchParams.set('offset', String(query.offset));
  if (query.limit !== undefined) url.searchParams.set('limit', String(query.limit));
  return { kind: 'list', method: 'GET', url: url.toString(), credentials, session: file.session.id, expect };
}

export function statusSpec(file: ProbeSession, credentials: Credentials, expect: Expectation): SendSpec {
  return { kind: 'status', method: 'GET', url: file.session.session_endpoints.status, credentials, session: file.session.id, expect };
}

/** A commit of `parts` with `digest` (undefined: no Digest header); its 202s share `deadline`. */
export function commitSpec(
  file: ProbeSession,
  parts: readonly UploadPart[],
  digest: string | undefined,
  credentials: Credentials,
  expect: Expectation,
  deadline: AnswerDeadline,
): SendSpec {
  const headers: Record<string, string> = { ...JSON_CONTENT_TYPE };
  if (digest !== undefined) headers.digest = digest;
  const url = file.session.session_endpoints.commit;
  return { kind: 'commit', method: 'POST', url, headers, body: commitBody(parts), credentials, session: file.session.id, expect, deadline };
}

/** `GET {apiBaseUrl}/files/{id}/content`, hashed as it arrives. */
export function contentSpec(target: ServerTarget, fileId: string, expected?: { size: number; sha1: string }): SendSpec {
  return {
    kind: 'file',
    method: 'GET',
    url: `${target.apiBaseUrl}/files/${encodeURIComponent(fileId)}/content`,
    hashResponseBody: true,
    expect: expected ? { kind: 'content', ...expected } : { kind: 'any' },
  };
}

export function abortSpec(session: UploadSession, credentials: Credentials, expect: Expectation): SendSpec {
  return { kind: 'abort', method: 'DELETE', url: session.session_endpoints.abort, credentials, session: session.id, expect };
}

export function deleteFileSpec(target: ServerTarget, fileId: string): SendSpec {
  return { kind: 'file', method: 'DELETE', url: `${target.apiBaseUrl}/files/${encodeURIComponent(fileId)}` };
}
