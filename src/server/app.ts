import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseContentRange, rangeSize } from '../protocol/content-range.ts';
import { parseDigest } from '../protocol/digest.ts';
import { totalPartsFor } from '../protocol/parts.ts';
import { type UploadPart, type UploadSession, boxError, checkCommitBody, checkCreateSessionBody } from '../protocol/shapes.ts';
import { DEFAULT_ERROR_CODES, type FaultAction, type FaultPlan, type FaultReportEntry, describeFault, matchFault, parseFaultPlan } from './faults.ts';
import { type AuthClass, type Exchange, type Operation, TrafficRecorder, redactHeaders } from './recorder.ts';
import { receiveBody, receiveJson } from './body.ts';
import { type ActivePlan, type Session, type StoredFile, UploadStore, randomHex } from './store.ts';

export interface SimulatedServerOptions {
  /** Loopback only by default. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Accept only this bearer token; without it any non-empty bearer token is accepted. */
  token?: string;
  /** Bytes per part handed out in every session (default 8 MiB, Box's choice for files of a few hundred MB). */
  partSize?: number;
  /** Smallest file a session accepts (default 20 MB, as Box; 1 for small test files). */
  minFileSize?: number;
  /** Where parts and committed files go (default: a new temporary directory, removed on close). */
  storageDir?: string;
  /** Session lifetime (default 7 days). */
  sessionTtlMs?: number;
}

export interface SimulatedServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** origin + /api/2.0 */
  readonly baseUrl: string;
  readonly port: number;
  readonly partSize: number;
  /** Applies to every session created from now on. */
  setFaultPlan(plan: FaultPlan): void;
  faultReport(): FaultReportEntry[];
  traffic(): Exchange[];
  clearTraffic(): void;
  storedFile(id: string): { entry: StoredFile['entry']; paths: string[] } | undefined;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const API_PREFIX = '/api/2.0';
const SESSION_ID = /^[0-9A-F]{32}$/;
const MAX_JSON_BYTES = 4 * MiB;
/** Bodies of rejected requests are read and discarded up to this size, so the client sees the answer. */
const MAX_DRAIN_BYTES = 64 * MiB;

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  exchange: Exchange;
  requestId: string;
}

/** What a request to the API is, judged by method and path alone (so a rejected request is classified too). */
export function operationOf(method: string, path: string): Operation {
  if (path === '/files/upload_sessions') return 'create';
  if (/^\/files\/\d+\/upload_sessions$/.test(path)) return 'create-version';
  const session = /^\/files\/upload_sessions\/[^/]+(\/parts|\/commit|\/log)?$/.exec(path);
  if (session) {
    const suffix = session[1];
    if (suffix === '/parts') return 'list';
    if (suffix === '/commit') return 'commit';
    if (suffix === '/log') return 'log';
    return method === 'PUT' ? 'part' : method === 'DELETE' ? 'abort' : method === 'GET' ? 'status' : 'other';
  }
  return /^\/files\/\d+(\/content)?$/.test(path) ? 'file' : 'other';
}

/** A header's value; a repeated header counts as malformed and reads as its joined values. */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export async function startSimulatedServer(options: SimulatedServerOptions = {}): Promise<SimulatedServer> {
  const partSize = options.partSize ?? 8 * MiB;
  const minFileSize = options.minFileSize ?? 20_000_000;
  const sessionTtlMs = options.sessionTtlMs ?? 7 * 24 * 3600 * 1000;
  const ownDir = options.storageDir === undefined;
  const dir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'box-sim-')));
  const store = new UploadStore(dir);
  await store.init();
  const recorder = new TrafficRecorder();
  let plan: ActivePlan = { instructions: [], fired: [] };
  let origin = '';

  const reply = (ctx: Context, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const all: Record<string, string> = { 'box-request-id': ctx.requestId, ...headers };
    if (body !== undefined) all['content-type'] = 'application/json';
    ctx.exchange.status = status;
    ctx.exchange.responseHeaders = all;
    ctx.exchange.responseBody = body;
    if (ctx.res.headersSent || ctx.res.destroyed) return;
    ctx.res.writeHead(status, all);
    ctx.res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const fail = (
    ctx: Context,
    status: number,
    code: string,
    message: string,
    extra: { context?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) => reply(ctx, status, boxError(status, code, message, ctx.requestId, extra.context), extra.headers);

  /** Reads and discards what is left of the body (up to a bound), then answers; past the bound the connection is closed. */
  const drainThenFail = async (
    ctx: Context,
    status: number,
    code: string,
    message: string,
    extra: { context?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) => {
    // JSON bodies are kept even when refused, so the record shows what the client meant to send.
    const json = ctx.exchange.op === 'create' || ctx.exchange.op === 'commit';
    const body = json
      ? await receiveJson(ctx.req, MAX_JSON_BYTES)
      : await receiveBody(ctx.req, { maxBytes: MAX_DRAIN_BYTES }).then((received) => ({ ...received, sha1: received.sha1.toString('hex'), value: undefined }));
    if (ctx.exchange.requestBody.length === 0) {
      ctx.exchange.requestBody = { length: body.length, sha1: body.sha1, json: body.value, truncated: body.outcome === 'too-large' || undefined };
    }
    if (body.outcome === 'aborted') return markAborted(ctx);
    const headers = body.outcome === 'too-large' ? { ...extra.headers, connection: 'close' } : extra.headers;
    fail(ctx, status, code, message, { ...extra, headers });
  };

  const markAborted = (ctx: Context) => {
    ctx.exchange.clientAborted = true;
    ctx.res.destroy();
  };

  const sessionJson = (session: Session): UploadSession => {
    const base = `${origin}${API_PREFIX}/files/upload_sessions/${session.id}`;
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
  };

  const authenticate = (req: IncomingMessage): AuthClass => {
    const header = req.headers.authorization;
    if (header === undefined) return 'missing';
    // The scheme name is case-insensitive (RFC 9110 §11.1), and one or more spaces may follow it.
    const match = /^bearer +(\S+)$/i.exec(header);
    if (!match) return 'malformed';
    return options.token === undefined || match[1] === options.token ? 'valid' : 'wrong-token';
  };

  const fireFault = (session: Session, request: { op: 'part' | 'commit'; part?: number; attempt: number }, ctx: Context): FaultAction | undefined => {
    const index = matchFault(session.plan.instructions, request);
    if (index === undefined) return undefined;
    const instruction = session.plan.instructions[index];
    if (!instruction) return undefined;
    session.plan.fired[index] = (session.plan.fired[index] ?? 0) + 1;
    ctx.exchange.fault = { description: describeFault(instruction), action: instruction.action };
    return instruction.action;
  };

  /** Answers a terminal fault (everything but delay and drop). */
  const answerFault = async (ctx: Context, action: FaultAction) => {
    if ('afterMs' in action && action.afterMs) await sleep(action.afterMs);
    switch (action.kind) {
      case 'error':
        return fail(ctx, action.status, action.code ?? DEFAULT_ERROR_CODES[action.status] ?? 'error', `Injected fault: ${action.status}`);
      case 'rate-limit':
        return fail(ctx, 429, 'rate_limit_exceeded', 'Request rate limit exceeded, please try again later', {
          headers: { 'retry-after': String(action.retryAfter) },
        });
      case 'overlap':
        return fail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', {
          context: { conflicting_part: null },
        });
      case 'retry-later':
        return reply(ctx, 202, undefined, { 'retry-after': String(action.retryAfter) });
      default:
        return undefined;
    }
  };

  const lookupSession = (ctx: Context, id: string): Session | undefined => {
    ctx.exchange.sessionId = id;
    if (!SESSION_ID.test(id)) {
      void drainThenFail(ctx, 400, 'invalid_upload_session_id', `"${id}" is not an upload session id`);
      return undefined;
    }
    const session = store.sessions.get(id);
    if (!session || session.state !== 'open') {
      void drainThenFail(ctx, 404, 'not_found', 'Upload session not found');
      return undefined;
    }
    if (Date.now() > session.expiresAt) {
      void drainThenFail(ctx, 410, 'session_expired', 'Upload session has expired');
      return undefined;
    }
    return session;
  };

  const createSession = async (ctx: Context, existingFileId?: string) => {
    ctx.exchange.op = existingFileId ? 'create-version' : 'create';
    const body = await receiveJson(ctx.req, 64 * 1024);
    ctx.exchange.requestBody = { length: body.length, sha1: body.sha1, json: body.value };
    if (body.outcome === 'aborted') return markAborted(ctx);
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
    const checked = checkCreateSessionBody(value, minFileSize);
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
      partSize,
      fileId: existing?.entry.id,
      createdAt: now,
      expiresAt: now + sessionTtlMs,
      state: 'open',
      parts: new Map(),
      partAttempts: new Map(),
      commitAttempts: 0,
      plan,
    };
    store.sessions.set(session.id, session);
    ctx.exchange.sessionId = session.id;
    reply(ctx, 201, sessionJson(session));
  };

  const uploadPart = async (ctx: Context, session: Session) => {
    ctx.exchange.op = 'part';
    const digest = parseDigest(headerOf(ctx.req, 'digest'));
    if (!digest.ok) return drainThenFail(ctx, 400, 'bad_digest', digest.reason);
    const parsed = parseContentRange(headerOf(ctx.req, 'content-range'));
    if (!parsed.ok) return drainThenFail(ctx, 400, 'invalid_content_range', parsed.reason);
    const range = parsed.value;
    const size = rangeSize(range);
    const notSatisfiable = (message: string) => drainThenFail(ctx, 416, 'requested_range_not_satisfiable', message);
    if (range.total !== session.fileSize) {
      return notSatisfiable(`Content-Range total ${range.total} differs from the session's file size ${session.fileSize}`);
    }
    if (range.lo % session.partSize !== 0) return notSatisfiable(`Content-Range must start at a multiple of the part size ${session.partSize}`);
    const expectedSize = Math.min(session.partSize, session.fileSize - range.lo);
    if (size !== expectedSize) return notSatisfiable(`The part at offset ${range.lo} must be ${expectedSize} bytes, Content-Range gives ${size}`);
    const partNumber = range.lo / session.partSize + 1;
    const attempt = (session.partAttempts.get(partNumber) ?? 0) + 1;
    session.partAttempts.set(partNumber, attempt);
    ctx.exchange.partNumber = partNumber;
    ctx.exchange.attempt = attempt;
    const overlapping = () => {
      const conflict = store.conflictingPart(session, { offset: range.lo, size });
      if (!conflict) return undefined;
      const { path: _path, ...conflictingPart } = conflict;
      return { conflicting_part: conflictingPart };
    };
    const conflictBefore = overlapping();
    if (conflictBefore) {
      return drainThenFail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', { context: conflictBefore });
    }
    const declaredLength = headerOf(ctx.req, 'content-length');
    if (declaredLength !== undefined && Number(declaredLength) !== size) {
      return drainThenFail(ctx, 400, 'invalid_request', `Content-Length ${declaredLength} differs from the Content-Range size ${size}`);
    }
    const fault = fireFault(session, { op: 'part', part: partNumber, attempt }, ctx);
    if (fault?.kind === 'drop') {
      const body = await receiveBody(ctx.req, { maxBytes: size, stopAfter: fault.afterBytes ?? Math.floor(size / 2) });
      ctx.exchange.requestBody = { length: body.length, sha1: body.sha1.toString('hex') };
      ctx.exchange.dropped = true;
      ctx.req.socket.destroy();
      return;
    }
    const path = store.newPartPath();
    const sink = createWriteStream(path);
    const body = await receiveBody(ctx.req, { maxBytes: size, sink });
    sink.end();
    await once(sink, 'close');
    ctx.exchange.requestBody = { length: body.length, sha1: body.sha1.toString('hex') };
    const discard = () => rm(path, { force: true });
    if (body.outcome === 'aborted') {
      await discard();
      return markAborted(ctx);
    }
    if (body.outcome === 'too-large') {
      ctx.exchange.requestBody.truncated = true;
      await discard();
      return fail(ctx, 400, 'invalid_request', `The body is longer than the Content-Range size ${size}`, { headers: { connection: 'close' } });
    }
    if (body.length !== size) {
      await discard();
      return fail(ctx, 400, 'invalid_request', `The body has ${body.length} bytes, Content-Range says ${size}`);
    }
    if (fault && fault.kind !== 'delay') {
      await discard();
      return answerFault(ctx, fault);
    }
    if (!body.sha1.equals(digest.value)) {
      await discard();
      return fail(ctx, 400, 'bad_digest', `Digest sha=${digest.value.toString('base64')} does not match the part's SHA-1 ${body.sha1.toString('base64')}`);
    }
    const conflictAfter = overlapping();
    if (conflictAfter || session.state !== 'open') {
      await discard();
      if (conflictAfter) return fail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', { context: conflictAfter });
      return fail(ctx, 404, 'not_found', 'Upload session not found');
    }
    const part = { part_id: randomHex(4), offset: range.lo, size, sha1: body.sha1.toString('hex') };
    session.parts.set(range.lo, { ...part, path });
    if (fault?.kind === 'delay') await sleep(fault.ms);
    reply(ctx, 200, { part });
  };

  const listParts = (ctx: Context, session: Session) => {
    ctx.exchange.op = 'list';
    const number = (name: string, fallback: number) => {
      const raw = ctx.url.searchParams.get(name);
      if (raw === null) return fallback;
      return /^(0|[1-9][0-9]{0,8})$/.test(raw) ? Number(raw) : Number.NaN;
    };
    const offset = number('offset', 0);
    const limit = number('limit', 100);
    if (Number.isNaN(offset) || offset > 10_000) return fail(ctx, 400, 'bad_request', 'offset must be an integer from 0 to 10000');
    if (Number.isNaN(limit) || limit < 1 || limit > 1000) return fail(ctx, 400, 'bad_request', 'limit must be an integer from 1 to 1000');
    const all = [...session.parts.values()].sort((a, b) => a.offset - b.offset);
    const entries = all.slice(offset, offset + limit).map(({ path: _path, ...part }) => part);
    reply(ctx, 200, { entries, total_count: all.length, limit, offset, order: [{ by: 'offset', direction: 'ASC' }] });
  };

  const commit = async (ctx: Context, session: Session) => {
    ctx.exchange.op = 'commit';
    const body = await receiveJson(ctx.req, MAX_JSON_BYTES);
    ctx.exchange.requestBody = { length: body.length, sha1: body.sha1, json: body.value };
    if (body.outcome === 'aborted') return markAborted(ctx);
    if (body.outcome === 'too-large') return fail(ctx, 413, 'request_entity_too_large', 'Body too large', { headers: { connection: 'close' } });
    if (body.outcome === 'invalid') return fail(ctx, 400, 'bad_request', 'Body is not valid JSON');
    const digest = parseDigest(headerOf(ctx.req, 'digest'));
    if (!digest.ok) return fail(ctx, 400, 'bad_digest', digest.reason);
    const checked = checkCommitBody(body.value);
    if (!checked.ok) return fail(ctx, checked.status, checked.code, checked.message);
    session.commitAttempts += 1;
    const fault = fireFault(session, { op: 'commit', attempt: session.commitAttempts }, ctx);
    if (fault?.kind === 'delay') await sleep(fault.ms);
    else if (fault && fault.kind !== 'drop') return answerFault(ctx, fault);
    else if (fault?.kind === 'drop') {
      ctx.exchange.dropped = true;
      ctx.req.socket.destroy();
      return;
    }
    while (session.committing) await session.committing.catch(() => undefined);
    if (session.state !== 'open') return fail(ctx, 404, 'not_found', 'Upload session not found');
    const work = finishCommit(ctx, session, checked.value, digest.value);
    session.committing = work;
    try {
      await work;
    } finally {
      session.committing = undefined;
    }
  };

  const finishCommit = async (ctx: Context, session: Session, listed: UploadPart[], expected: Buffer) => {
    const problem = store.commitPartsProblem(session, listed);
    if (problem) return fail(ctx, 400, 'invalid_commit_parts', problem);
    const clash = store.fileNamed(session.folderId, session.fileName);
    if (clash && clash.entry.id !== session.fileId) {
      return fail(ctx, 409, 'item_name_in_use', 'Item with the same name already exists', {
        context: { conflicts: { type: 'file', id: clash.entry.id, name: clash.entry.name } },
      });
    }
    const paths = store.partPaths(listed, session);
    const actual = await store.digestOf(paths);
    if (!actual.equals(expected)) {
      return fail(ctx, 400, 'digest_mismatch', `File digest was incorrect. Actual: ${actual.toString('base64')} Expected: ${expected.toString('base64')}`);
    }
    const previous = session.fileId ? store.files.get(session.fileId) : undefined;
    const file = store.addFile(session, paths, actual.toString('hex'));
    if (previous) await Promise.all(previous.paths.map((path) => rm(path, { force: true })));
    session.state = 'committed';
    session.committedFile = file;
    await store.dropParts(session);
    reply(ctx, 201, { total_count: 1, entries: [file.entry] });
  };

  const abort = async (ctx: Context, session: Session) => {
    ctx.exchange.op = 'abort';
    session.state = 'aborted';
    await store.dropParts(session);
    session.parts.clear();
    reply(ctx, 204);
  };

  const fileRoute = async (ctx: Context, id: string, content: boolean) => {
    ctx.exchange.op = 'file';
    const file = store.files.get(id);
    if (!file) return drainThenFail(ctx, 404, 'not_found', 'File not found');
    const method = ctx.req.method;
    if (method === 'DELETE' && !content) {
      await store.removeFile(id);
      return reply(ctx, 204);
    }
    if (method !== 'GET') return drainThenFail(ctx, 405, 'method_not_allowed', `${method} is not allowed here`);
    if (!content) return reply(ctx, 200, file.entry);
    ctx.exchange.status = 200;
    ctx.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.entry.size), 'box-request-id': ctx.requestId });
    for (const path of file.paths) {
      for await (const chunk of createReadStream(path)) {
        if (!ctx.res.write(chunk)) await once(ctx.res, 'drain');
      }
    }
    ctx.res.end();
  };

  const routeApi = async (ctx: Context, path: string) => {
    const method = ctx.req.method ?? 'GET';
    ctx.exchange.op = operationOf(method, path);
    const auth = ctx.exchange.auth;
    if (auth !== 'valid') {
      return drainThenFail(ctx, 401, 'unauthorized', 'Unauthorized: a valid bearer token is required', {
        headers: { 'www-authenticate': 'Bearer realm="Service", error="invalid_token"' },
      });
    }
    let match: RegExpExecArray | null;
    if (path === '/files/upload_sessions') {
      if (method === 'POST') return createSession(ctx);
    } else if ((match = /^\/files\/(\d+)\/upload_sessions$/.exec(path))) {
      if (method === 'POST') return createSession(ctx, match[1]);
    } else if ((match = /^\/files\/upload_sessions\/([^/]+)(\/parts|\/commit|\/log)?$/.exec(path))) {
      const [, id = '', suffix] = match;
      const allowed = suffix === '/parts' ? ['GET'] : suffix ? ['POST'] : ['GET', 'PUT', 'DELETE'];
      if (!allowed.includes(method)) return drainThenFail(ctx, 405, 'method_not_allowed', `${method} is not allowed here`);
      const session = lookupSession(ctx, decodeURIComponent(id));
      if (!session) return;
      if (suffix === '/parts') return listParts(ctx, session);
      if (suffix === '/commit') return commit(ctx, session);
      if (suffix === '/log') {
        ctx.exchange.op = 'log';
        await receiveJson(ctx.req, 64 * 1024);
        return reply(ctx, 200, { type: 'event' });
      }
      if (method === 'GET') {
        ctx.exchange.op = 'status';
        return reply(ctx, 200, sessionJson(session));
      }
      if (method === 'PUT') return uploadPart(ctx, session);
      return abort(ctx, session);
    } else if ((match = /^\/files\/(\d+)(\/content)?$/.exec(path))) {
      return fileRoute(ctx, match[1] ?? '', match[2] !== undefined);
    }
    return drainThenFail(ctx, 404, 'not_found', `No endpoint ${method} ${path}`);
  };

  const routeControl = async (ctx: Context, path: string) => {
    ctx.exchange.op = 'control';
    const method = ctx.req.method;
    if (path === '/faults') {
      if (method === 'GET') return reply(ctx, 200, { instructions: faultReport() });
      if (method === 'DELETE') {
        setFaultPlan({ instructions: [] });
        return reply(ctx, 204);
      }
      if (method === 'PUT') {
        const body = await receiveJson(ctx.req, MAX_JSON_BYTES);
        if (body.outcome !== 'ok') return fail(ctx, 400, 'bad_request', 'Body must be a JSON fault plan');
        const parsed = parseFaultPlan(body.value);
        if (!parsed.ok) return fail(ctx, 400, 'bad_request', parsed.reason);
        setFaultPlan(parsed.plan);
        return reply(ctx, 200, { instructions: faultReport() });
      }
    } else if (path === '/traffic') {
      if (method === 'GET') return reply(ctx, 200, { exchanges: recorder.exchanges().filter((exchange) => exchange.op !== 'control') });
      if (method === 'DELETE') {
        recorder.clear();
        return reply(ctx, 204);
      }
    } else if (path.startsWith('/files/') && method === 'GET') {
      const file = store.files.get(path.slice('/files/'.length));
      if (file) return reply(ctx, 200, file.entry);
      return fail(ctx, 404, 'not_found', 'File not found');
    }
    return drainThenFail(ctx, 404, 'not_found', `No control endpoint ${method} ${path}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const exchange = recorder.begin({
      method: req.method ?? '',
      url: req.url ?? '',
      requestHeaders: redactHeaders(req.headers),
      auth: authenticate(req),
    });
    const ctx: Context = { req, res, url: new URL('http://invalid/'), exchange, requestId: randomHex(6).toLowerCase() };
    res.once('close', () => {
      if (!res.writableFinished && !exchange.dropped) exchange.clientAborted = true;
      exchange.endMs = performance.now();
    });
    try {
      ctx.url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return drainThenFail(ctx, 400, 'bad_request', 'Malformed request target');
    }
    const path = ctx.url.pathname;
    if (path === '/' && req.method === 'GET') return reply(ctx, 200, { name: 'box-upload-simulator', baseUrl: `${origin}${API_PREFIX}` });
    if (path.startsWith(`${API_PREFIX}/`)) return routeApi(ctx, path.slice(API_PREFIX.length));
    if (path.startsWith('/_control/')) return routeControl(ctx, path.slice('/_control'.length));
    return drainThenFail(ctx, 404, 'not_found', `No endpoint ${req.method} ${path}`);
  };

  const setFaultPlan = (next: FaultPlan) => {
    plan = { instructions: next.instructions.map((instruction) => ({ ...instruction })), fired: next.instructions.map(() => 0) };
  };
  const faultReport = (): FaultReportEntry[] => plan.instructions.map((instruction, index) => ({ instruction, fired: plan.fired[index] ?? 0 }));

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug of the simulator, not of the client: say so plainly.
      const ctx = {
        req,
        res,
        exchange: recorder.begin({ method: req.method ?? '', url: req.url ?? '', requestHeaders: {}, auth: 'missing' }),
        requestId: 'simulator',
        url: new URL('http://x/'),
      };
      ctx.exchange.endMs = performance.now();
      fail(ctx, 500, 'simulator_error', `The simulated server failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;

  return {
    origin,
    baseUrl: `${origin}${API_PREFIX}`,
    port: address.port,
    partSize,
    setFaultPlan,
    faultReport,
    traffic: () => recorder.exchanges().filter((exchange) => exchange.op !== 'control'),
    clearTraffic: () => recorder.clear(),
    storedFile: (id) => {
      const file = store.files.get(id);
      return file ? { entry: file.entry, paths: [...file.paths] } : undefined;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await store.destroy();
    },
  };
}
