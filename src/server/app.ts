import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { type IncomingMessage, STATUS_CODES, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { boxError } from '../protocol/shapes.ts';
import { type RequestContext, authenticate } from './context.ts';
import type { FaultPlan, FaultReportEntry } from './faults.ts';
import { type Exchange, TrafficRecorder, redactHeaders } from './recorder.ts';
import { parseRefusedHead, recordRefusedRequest } from './refused-head.ts';
import { drainThenFail, fail, reply } from './replies.ts';
import { matchRoute } from './routes.ts';
import { API_PREFIX, type PublicHost, type ServerState, faultReport, setFaultPlan } from './state.ts';
import { type StoredFile, UploadStore, randomHex } from './store.ts';

export { operationOf } from './routes.ts';

/**
 * The simulated Box upload server: its options, its lifecycle, and the dispatch of each request to its
 * route. The routes are in routes.ts, their handlers in handlers/ and control.ts, the answers in replies.ts.
 */

const MiB = 1024 * 1024;

/**
 * What the server keeps at most, and for how long, unless told otherwise: budgets a test suite hitting
 * the server for hours lives with, and that keep its memory flat (README, "Budgets").
 */
export const SERVER_LIMITS = {
  /** An open session expires this long after it was created (Box: 7 days); then 410 session_expired. */
  sessionTtlMs: 3600 * 1000,
  /** Open sessions at once; one more is refused with 429 and Retry-After until the oldest expires. */
  maxSessions: 10_000,
  /** Parts stored across all open sessions; one more is refused with 507 insufficient_storage. */
  maxParts: 100_000,
  /** Committed files kept; past it the oldest is forgotten (its content removed). */
  maxFiles: 1_000,
  /** A committed file is forgotten this long after its commit. */
  fileTtlMs: 3600 * 1000,
  /** Estimated memory the traffic record may hold; past it the oldest exchanges are forgotten. */
  trafficBudgetBytes: 16 * MiB,
  /** Longest request target (path and query); longer is 414. */
  maxUrlBytes: 8 * 1024,
  /** Largest request head (request line and headers); larger is 431. */
  maxHeaderBytes: 16 * 1024,
} as const;

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
  /** Session lifetime (default 1 hour). */
  sessionTtlMs?: number;
  /**
   * Write part files sparse: runs of zeros become holes, so a part of zeros takes only its size and SHA-1
   * and a multi-GiB upload cut from a sparse source holds little disk (default false).
   */
  sparseParts?: boolean;
  /** The budgets of SERVER_LIMITS, each optional. */
  maxSessions?: number;
  maxParts?: number;
  maxFiles?: number;
  fileTtlMs?: number;
  trafficBudgetBytes?: number;
  maxUrlBytes?: number;
  maxHeaderBytes?: number;
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
  /**
   * Serves a connection made to `host` (decrypted by the --intercept proxy): its requests are answered
   * under the host's API prefix, and the session endpoints it is handed are on that host. `reset` resets
   * the client's own connection, for a dropped connection to reach the client as it does direct.
   */
  acceptConnection(socket: Duplex, host: PublicHost, reset?: () => void): void;
  close(): Promise<void>;
}

/** Puts a request the parser refused in the traffic record, with the answer it gets. */
type RefusalRecorder = (reason: string, answer: { status: number; headers: Record<string, string>; body: unknown; bytes: number }) => void;

/** What Node's HTTP parser refused, as Box's error JSON: status and code by the parser's error. */
function parserErrorAnswer(error: NodeJS.ErrnoException & { reason?: string }): { status: number; code: string; message: string } {
  const detail = `${error.reason ?? error.message} (${error.code ?? 'parse error'})`;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'request_header_fields_too_large', message: `The request head is too large (--max-header-bytes): ${detail}` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'The request did not arrive in time' };
    case 'CONNECT':
      return { status: 405, code: 'method_not_allowed', message: 'CONNECT is not supported: this is not a proxy' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'request_entity_too_large', message: `Chunk extensions too large: ${detail}` };
    default:
      return { status: 400, code: 'bad_request', message: `The request could not be parsed: ${detail}` };
  }
}

/** Writes a parser error's answer straight to the socket (there is no response object) and closes it. */
function answerParserError(socket: Duplex, error: NodeJS.ErrnoException, record?: RefusalRecorder): void {
  if (!socket.writable || error.code === 'ECONNRESET' || error.code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const requestId = randomHex(6).toLowerCase();
  const { status, code, message } = parserErrorAnswer(error);
  const answer = boxError(status, code, message, requestId);
  const body = JSON.stringify(answer);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'box-request-id': requestId,
    connection: 'close',
  };
  record?.(message, { status, headers, body: answer, bytes: body.length });
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  // A peer that never reads its answer does not keep the socket.
  setTimeout(() => socket.destroy(), 5_000).unref();
}

/** `/2.0/folders/0/items` on api.box.com is this server's `/api/2.0/folders/0/items`; undefined outside the host's API. */
function publicApiPath(host: PublicHost, path: string): string | undefined {
  return path.startsWith(`${host.apiPrefix}/`) ? `${API_PREFIX}${path.slice(host.apiPrefix.length)}` : undefined;
}

/** Answers one request: the URL and credentials checked, then the route's handler. */
async function route(ctx: RequestContext): Promise<void> {
  const { state, req, exchange } = ctx;
  const target = req.url ?? '/';
  if (Buffer.byteLength(target) > state.config.maxUrlBytes) {
    return drainThenFail(ctx, 414, 'uri_too_long', `The request target is longer than ${state.config.maxUrlBytes} bytes (--max-url-bytes)`);
  }
  try {
    ctx.url = new URL(target, 'http://localhost');
  } catch {
    return drainThenFail(ctx, 400, 'bad_request', 'Malformed request target');
  }
  const method = req.method ?? 'GET';
  const publicHost = state.publicHosts.get(req.socket);
  const path = publicHost ? publicApiPath(publicHost, ctx.url.pathname) : ctx.url.pathname;
  if (path === undefined) return drainThenFail(ctx, 404, 'not_found', `No endpoint ${method} ${ctx.url.pathname} on ${publicHost?.origin}`);
  if (path === '/' && method === 'GET') return reply(ctx, 200, { name: 'box-upload-simulator', baseUrl: `${state.origin}${API_PREFIX}` });
  const match = matchRoute(method, path);
  exchange.op = match.op;
  const isApi = path.startsWith(`${API_PREFIX}/`);
  if (isApi && exchange.auth !== 'valid') {
    return drainThenFail(ctx, 401, 'unauthorized', 'Unauthorized: a valid bearer token is required', {
      headers: { 'www-authenticate': 'Bearer realm="Service", error="invalid_token"' },
    });
  }
  if (match.kind === 'method-not-allowed') return drainThenFail(ctx, 405, 'method_not_allowed', `${method} is not allowed here`);
  if (match.kind === 'none') {
    if (match.op === 'control') return drainThenFail(ctx, 404, 'not_found', `No control endpoint ${method} ${path.slice('/_control'.length)}`);
    return drainThenFail(ctx, 404, 'not_found', `No endpoint ${method} ${isApi ? path.slice(API_PREFIX.length) : path}`);
  }
  return match.endpoint.handle(ctx, match.params);
}

export async function startSimulatedServer(options: SimulatedServerOptions = {}): Promise<SimulatedServer> {
  const ownDir = options.storageDir === undefined;
  const dir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'box-sim-')));
  const limits = {
    sessionTtlMs: options.sessionTtlMs ?? SERVER_LIMITS.sessionTtlMs,
    maxSessions: options.maxSessions ?? SERVER_LIMITS.maxSessions,
    maxParts: options.maxParts ?? SERVER_LIMITS.maxParts,
    maxFiles: options.maxFiles ?? SERVER_LIMITS.maxFiles,
    fileTtlMs: options.fileTtlMs ?? SERVER_LIMITS.fileTtlMs,
  };
  const store = new UploadStore(dir, limits);
  await store.init();
  const state: ServerState = {
    config: {
      token: options.token,
      partSize: options.partSize ?? 8 * MiB,
      minFileSize: options.minFileSize ?? 20_000_000,
      sessionTtlMs: limits.sessionTtlMs,
      maxUrlBytes: options.maxUrlBytes ?? SERVER_LIMITS.maxUrlBytes,
      sparseParts: options.sparseParts ?? false,
    },
    store,
    recorder: new TrafficRecorder(options.trafficBudgetBytes ?? SERVER_LIMITS.trafficBudgetBytes),
    plan: { instructions: [], fired: [], creates: 0 },
    origin: '',
    publicHosts: new WeakMap(),
    connectionResets: new WeakMap(),
  };
  /** The request each connection is answering, so that a parser error on what follows waits for its answer. */
  const answering = new WeakMap<Duplex, RequestContext>();

  const contextFor = (req: IncomingMessage, res: ServerResponse): RequestContext => {
    const exchange = state.recorder.begin({
      method: req.method ?? '',
      url: req.url ?? '',
      requestHeaders: redactHeaders(req.headers),
      auth: authenticate(req, state.config.token),
    });
    const publicHost = state.publicHosts.get(req.socket);
    const apiBase = publicHost ? `${publicHost.origin}${publicHost.apiPrefix}` : `${state.origin}${API_PREFIX}`;
    const ctx: RequestContext = {
      state,
      req,
      res,
      url: new URL('http://invalid/'),
      exchange,
      requestId: randomHex(6).toLowerCase(),
      responseBytes: 0,
      apiBase,
    };
    answering.set(req.socket, ctx);
    res.once('close', () => {
      if (answering.get(req.socket) === ctx) answering.delete(req.socket);
      if (!res.writableFinished && !exchange.dropped) exchange.clientAborted = true;
      if (Number.isNaN(exchange.endMs)) exchange.endMs = performance.now();
      if (exchange.op !== 'control') state.recorder.finish(exchange, ctx.responseBytes);
    });
    return ctx;
  };

  const answerFailure = (ctx: RequestContext, error: unknown) => {
    // A bug of the simulator, not of the client: say so plainly, or end a half-sent answer.
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    fail(ctx, 500, 'simulator_error', `The simulated server failed: ${error instanceof Error ? error.message : String(error)}`);
  };

  const server: Server = createServer({ maxHeaderSize: options.maxHeaderBytes ?? SERVER_LIMITS.maxHeaderBytes }, (req, res) => {
    const ctx = contextFor(req, res);
    route(ctx).catch((error: unknown) => answerFailure(ctx, error));
  });
  server.on('checkExpectation', (req, res) => {
    // The client holds its body back until told to continue: answered at once, and the connection closed.
    fail(contextFor(req, res), 417, 'expectation_failed', `Expect "${String(req.headers.expect)}" is not supported; only 100-continue is`);
  });
  // Without a listener Node destroys a CONNECT's socket unanswered: answer it in Box's JSON like a parser error.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
    answerParserError(socket, Object.assign(new Error('CONNECT is not supported'), { code: 'CONNECT' })),
  );
  const parserFailed = new WeakSet<Duplex>();
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: number }, socket: Duplex) => {
    if (parserFailed.has(socket)) return;
    parserFailed.add(socket);
    // A request the parser refused reached the socket all the same: it is recorded and judged like any other.
    const { rawPacket } = error;
    const record: RefusalRecorder | undefined = Buffer.isBuffer(rawPacket)
      ? (reason, answer) => recordRefusedRequest(state.recorder, state.config.token, parseRefusedHead(rawPacket, error.bytesParsed), reason, answer)
      : undefined;
    const pending = answering.get(socket);
    if (pending && !pending.res.writableFinished && !pending.res.destroyed) {
      // Bytes after a whole request that are not a request: that request is answered first, then this.
      if (pending.req.complete && error.code !== 'ERR_HTTP_REQUEST_TIMEOUT')
        return void pending.res.once('close', () => answerParserError(socket, error, record));
      // A request cut short (its body timed out): its own answer will never come.
      if (pending.res.headersSent) return void socket.destroy();
    }
    answerParserError(socket, error, record);
  });
  // Idle connections stay open far longer than any Retry-After the kit sends (6 s at most), as behind Box's and
  // most front ends (nginx: 75 s): a client that waits out a Retry-After and reuses its connection must never
  // race the server's idle close (5 s, plus Node's 1 s buffer, met a 6 s Retry-After to the millisecond).
  server.keepAliveTimeout = 75_000;
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  // From now on a failed accept (EMFILE: no descriptors left) costs that connection only; the kernel keeps the others queued.
  server.on('error', () => undefined);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  state.origin = `http://${host}:${address.port}`;
  const sweepEveryMs = Math.min(60_000, Math.max(1_000, Math.min(limits.sessionTtlMs, limits.fileTtlMs)));
  const sweeper = setInterval(() => void store.sweep().catch(() => undefined), sweepEveryMs);
  sweeper.unref();

  return {
    origin: state.origin,
    baseUrl: `${state.origin}${API_PREFIX}`,
    port: address.port,
    partSize: state.config.partSize,
    setFaultPlan: (plan) => setFaultPlan(state, plan),
    faultReport: () => faultReport(state),
    traffic: () => state.recorder.exchanges().filter((exchange) => exchange.op !== 'control'),
    clearTraffic: () => state.recorder.clear(),
    acceptConnection: (socket, host, reset) => {
      state.publicHosts.set(socket, host);
      if (reset) state.connectionResets.set(socket, reset);
      server.emit('connection', socket);
    },
    storedFile: (id) => {
      const file = store.files.get(id);
      return file ? { entry: file.entry, paths: [...file.paths] } : undefined;
    },
    close: async () => {
      clearInterval(sweeper);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await store.destroy();
    },
  };
}
