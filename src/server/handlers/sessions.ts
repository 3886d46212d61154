import { setTimeout as sleep } from 'node:timers/promises';
import { totalPartsFor } from '../../protocol/parts.ts';
import { type UploadSession, checkCreateSessionBody } from '../../protocol/shapes.ts';
import type { RequestContext, RouteHandler } from '../context.ts';
import { detachedPrefix } from '../recorder.ts';
import { drainThenFail, fail, readJsonBody, reply } from '../replies.ts';
import { type Session, type StoredFile, exclusively, randomHex } from '../store.ts';
import { answerFault, dropConnection, fireFault } from './injected-faults.ts';

const SESSION_ID = /^[0-9A-F]{32}$/;
const MAX_CREATE_BYTES = 64 * 1024;
const MAX_LOG_EVENT_BYTES = 64 * 1024;

export function sessionJson(ctx: RequestContext, session: Session): UploadSession {
  const base = `${ctx.apiBase}/files/upload_sessions/${session.id}`;
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

/** `%41`-style escapes decoded; undefined when they are malformed (`%ZZ`). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The open session a request names, or undefined once the request is answered with why not. */
async function lookupSession(ctx: RequestContext, rawId: string): Promise<Session | undefined> {
  const id = decodePathSegment(rawId);
  ctx.exchange.sessionId = detachedPrefix(id ?? rawId, 100);
  if (id === undefined || !SESSION_ID.test(id)) {
    await drainThenFail(ctx, 400, 'invalid_upload_session_id', `"${id ?? rawId}" is not an upload session id`);
    return undefined;
  }
  const { store } = ctx.state;
  const session = store.sessions.get(id);
  let end = session ? (session.state === 'open' ? undefined : session.state) : store.endOf(id);
  if (session && end === undefined && Date.now() > session.expiresAt) {
    end = 'expired';
    await exclusively(session, async () => {
      if (session.state === 'open') await store.endSession(session, 'expired');
    });
  }
  if (end === 'expired') {
    await drainThenFail(ctx, 410, 'session_expired', 'Upload session has expired');
    return undefined;
  }
  if (!session || end !== undefined) {
    await drainThenFail(ctx, 404, 'not_found', end ? `Upload session not found: it was ${end}` : 'Upload session not found');
    return undefined;
  }
  return session;
}

/** A route handler for a session's endpoints: the first capture group is the session id. */
export function withSession(handler: (ctx: RequestContext, session: Session) => void | Promise<void>): RouteHandler {
  return async (ctx, [id = '']) => {
    const session = await lookupSession(ctx, id);
    if (session) await handler(ctx, session);
  };
}

/** 429 when the open sessions are at the cap, with Retry-After until the oldest expires; ends what expired first. */
async function refuseOverCap(ctx: RequestContext): Promise<boolean> {
  const { store } = ctx.state;
  await store.sweep();
  if (store.sessions.size < store.limits.maxSessions) return false;
  const wait = Math.max(1, Math.ceil(((store.nextExpiry() ?? Date.now()) - Date.now()) / 1000));
  fail(
    ctx,
    429,
    'rate_limit_exceeded',
    `The simulator holds ${store.sessions.size} open upload sessions, its limit (--max-sessions); commit or abort one, or wait ${wait} s for the oldest to expire`,
    { headers: { 'retry-after': String(wait) } },
  );
  return true;
}

async function createSession(ctx: RequestContext, existingFileId?: string): Promise<void> {
  const { store, config } = ctx.state;
  const body = await readJsonBody(ctx, MAX_CREATE_BYTES);
  if (!body) return;
  // Before the body's fields are checked, as a rate limiter in front of Box's API would answer.
  ctx.state.plan.creates += 1;
  const fault = fireFault(ctx, ctx.state.plan, { op: 'create', attempt: ctx.state.plan.creates });
  if (fault?.kind === 'delay') await sleep(fault.ms);
  else if (fault?.kind === 'drop') return dropConnection(ctx);
  else if (fault) return answerFault(ctx, fault);
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
  if (await refuseOverCap(ctx)) return;
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
    exclusive: Promise.resolve(),
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

/** DELETE /files/upload_sessions/{id}: after a commit in progress, never during it; exactly one of them wins. */
export const abortSession = withSession((ctx, session) =>
  exclusively(session, async () => {
    if (session.state !== 'open') return fail(ctx, 404, 'not_found', `Upload session not found: it was ${session.state}`);
    await ctx.state.store.endSession(session, 'aborted');
    reply(ctx, 204);
  }),
);

/** POST /files/upload_sessions/{id}/log: accepted and forgotten. */
export const logEvent = withSession(async (ctx) => {
  if (await readJsonBody(ctx, MAX_LOG_EVENT_BYTES)) reply(ctx, 200, { type: 'event' });
});
