import { setTimeout as sleep } from 'node:timers/promises';
import { totalPartsFor } from '../../protocol/parts.ts';
import { type UploadSession, checkCreateSessionBody } from '../../protocol/shapes.ts';
import { receiveJson } from '../body.ts';
import type { RequestContext, RouteHandler } from '../context.ts';
import { drainThenFail, fail, markAborted, reply } from '../replies.ts';
import { API_PREFIX } from '../state.ts';
import { type Session, type StoredFile, randomHex } from '../store.ts';
import { answerFault, dropConnection, fireFault } from './injected-faults.ts';

const SESSION_ID = /^[0-9A-F]{32}$/;
const MAX_CREATE_BYTES = 64 * 1024;

export function sessionJson(ctx: RequestContext, session: Session): UploadSession {
  const base = `${ctx.state.origin}${API_PREFIX}/files/upload_sessions/${session.id}`;
  return {
    id: session.id,
    type: 'upload_session',
    session_expires_at: new Date(session.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    part_size: session.partSize,
    total_parts: totalPartsFor(session.fileSize, session.partSize),
    num_parts_processed: session.parts.size,
    session_endpoints: {
      upload_part: base,
      commit: `${base}/commit`,
      abort: base,
      list_parts: `${base}/parts`,
      status: base,
      log_event: `${base}/log`,
    },
  };
}

/** The open session a request names, or undefined once the request is answered with why not. */
async function lookupSession(ctx: RequestContext, id: string): Promise<Session | undefined> {
  ctx.exchange.sessionId = id;
  if (!SESSION_ID.test(id)) {
    await drainThenFail(ctx, 400, 'invalid_upload_session_id', `"${id}" is not an upload session id`);
    return undefined;
  }
  const session = ctx.state.store.sessions.get(id);
  if (!session || session.state !== 'open') {
    await drainThenFail(ctx, 404, 'not_found', 'Upload session not found');
    return undefined;
  }
  if (Date.now() > session.expiresAt) {
    await drainThenFail(ctx, 410, 'session_expired', 'Upload session has expired');
    return undefined;
  }
  return session;
}

/** A route handler for a session's endpoints: the first capture group is the session id. */
export function withSession(handler: (ctx: RequestContext, session: Session) => void | Promise<void>): RouteHandler {
  return async (ctx, [id = '']) => {
    const session = await lookupSession(ctx, decodeURIComponent(id));
    if (session) await handler(ctx, session);
  };
}

async function createSession(ctx: RequestContext, existingFileId?: string): Promise<void> {
  const { store, config } = ctx.state;
  const body = await receiveJson(ctx.req, MAX_CREATE_BYTES);
  ctx.exchange.requestBody = { length: body.length, sha1: body.sha1, json: body.value };
  if (body.outcome === 'aborted') return markAborted(ctx);
  // Ahead of any check of the body, as a rate limiter in front of Box's API would answer.
  ctx.state.plan.creates += 1;
  const fault = fireFault(ctx, ctx.state.plan, { op: 'create', attempt: ctx.state.plan.creates });
  if (fault?.kind === 'delay') await sleep(fault.ms);
  else if (fault?.kind === 'drop') return dropConnection(ctx);
  else if (fault) return answerFault(ctx, fault);
  if (body.outcome === 'too-large') return fail(ctx, 413, 'request_entity_too_large', 'Body too large', { headers: { connection: 'close' } });
  if (body.outcome === 'invalid') return fail(ctx, 400, 'bad_request', 'Body is not valid JSON');
  let existing: StoredFile | undefined;
  let value = body.value;
  if (existingFileId !== undefined) {
    existing = store.files.get(existingFileId);
    if (!existing) return fail(ctx, 404, 'not_found', 'File not found');
    const fields = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    value = { folder_id: existing.entry.parent.id, file_name: existing.entry.name, ...fields };
  }
  const checked = checkCreateSessionBody(value, config.minFileSize);
  if (!checked.ok) return fail(ctx, checked.status, checked.code, checked.message);
  const { folder_id: folderId, file_name: fileName, file_size: fileSize } = checked.value;
  const clash = store.fileNamed(folderId, fileName);
  if (clash && clash !== existing) {
    return fail(ctx, 409, 'item_name_in_use', 'Item with the same name already exists', {
      context: { conflicts: { type: 'file', id: clash.entry.id, name: clash.entry.name } },
    });
  }
  const now = Date.now();
  const session: Session = {
    id: randomHex(16),
    folderId,
    fileName,
    fileSize,
    partSize: config.partSize,
    fileId: existing?.entry.id,
    createdAt: now,
    expiresAt: now + config.sessionTtlMs,
    state: 'open',
    parts: new Map(),
    partAttempts: new Map(),
    commitAttempts: 0,
    plan: ctx.state.plan,
  };
  store.sessions.set(session.id, session);
  ctx.exchange.sessionId = session.id;
  reply(ctx, 201, sessionJson(ctx, session));
}

/** POST /files/upload_sessions */
export const createNewFileSession: RouteHandler = (ctx) => createSession(ctx);

/** POST /files/{id}/upload_sessions: a new version of file {id}. */
export const createVersionSession: RouteHandler = (ctx, [fileId = '']) => createSession(ctx, fileId);

/** GET /files/upload_sessions/{id} */
export const sessionStatus = withSession((ctx, session) => reply(ctx, 200, sessionJson(ctx, session)));

/** DELETE /files/upload_sessions/{id} */
export const abortSession = withSession(async (ctx, session) => {
  session.state = 'aborted';
  await ctx.state.store.dropParts(session);
  session.parts.clear();
  reply(ctx, 204);
});

/** POST /files/upload_sessions/{id}/log: accepted and forgotten. */
export const logEvent = withSession(async (ctx) => {
  await receiveJson(ctx.req, 64 * 1024);
  reply(ctx, 200, { type: 'event' });
});
