import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RequestContext, authenticate } from './context.ts';
import type { FaultPlan, FaultReportEntry } from './faults.ts';
import { type Exchange, TrafficRecorder, redactHeaders } from './recorder.ts';
import { drainThenFail, fail, reply } from './replies.ts';
import { matchRoute } from './routes.ts';
import { API_PREFIX, type ServerState, faultReport, setFaultPlan } from './state.ts';
import { type StoredFile, UploadStore, randomHex } from './store.ts';

export { operationOf } from './routes.ts';

/**
 * The simulated Box upload server: its options, its lifecycle, and the dispatch of each request to its
 * route. The routes are in routes.ts, their handlers in handlers/ and control.ts, the answers in replies.ts.
 */

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
  /**
   * Write part files sparse: runs of zeros become holes, so a part of zeros takes only its size and SHA-1
   * and a multi-GiB upload cut from a sparse source holds little disk (default false).
   */
  sparseParts?: boolean;
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

async function dispatch(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const exchange = state.recorder.begin({
    method: req.method ?? '',
    url: req.url ?? '',
    requestHeaders: redactHeaders(req.headers),
    auth: authenticate(req, state.config.token),
  });
  const ctx: RequestContext = { state, req, res, url: new URL('http://invalid/'), exchange, requestId: randomHex(6).toLowerCase() };
  res.once('close', () => {
    if (!res.writableFinished && !exchange.dropped) exchange.clientAborted = true;
    exchange.endMs = performance.now();
  });
  try {
    ctx.url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return drainThenFail(ctx, 400, 'bad_request', 'Malformed request target');
  }
  const method = req.method ?? 'GET';
  const path = ctx.url.pathname;
  if (path === '/' && method === 'GET') return reply(ctx, 200, { name: 'box-upload-simulator', baseUrl: `${state.origin}${API_PREFIX}` });
  const route = matchRoute(method, path);
  exchange.op = route.op;
  const isApi = path.startsWith(`${API_PREFIX}/`);
  if (isApi && exchange.auth !== 'valid') {
    return drainThenFail(ctx, 401, 'unauthorized', 'Unauthorized: a valid bearer token is required', {
      headers: { 'www-authenticate': 'Bearer realm="Service", error="invalid_token"' },
    });
  }
  if (route.kind === 'method-not-allowed') return drainThenFail(ctx, 405, 'method_not_allowed', `${method} is not allowed here`);
  if (route.kind === 'none') {
    if (route.op === 'control') return drainThenFail(ctx, 404, 'not_found', `No control endpoint ${method} ${path.slice('/_control'.length)}`);
    return drainThenFail(ctx, 404, 'not_found', `No endpoint ${method} ${isApi ? path.slice(API_PREFIX.length) : path}`);
  }
  return route.endpoint.handle(ctx, route.params);
}

export async function startSimulatedServer(options: SimulatedServerOptions = {}): Promise<SimulatedServer> {
  const ownDir = options.storageDir === undefined;
  const dir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'box-sim-')));
  const store = new UploadStore(dir);
  await store.init();
  const state: ServerState = {
    config: {
      token: options.token,
      partSize: options.partSize ?? 8 * MiB,
      minFileSize: options.minFileSize ?? 20_000_000,
      sessionTtlMs: options.sessionTtlMs ?? 7 * 24 * 3600 * 1000,
      sparseParts: options.sparseParts ?? false,
    },
    store,
    recorder: new TrafficRecorder(),
    plan: { instructions: [], fired: [], creates: 0 },
    origin: '',
  };

  const server: Server = createServer((req, res) => {
    dispatch(state, req, res).catch((error: unknown) => {
      // A bug of the simulator, not of the client: say so plainly.
      const exchange = state.recorder.begin({ method: req.method ?? '', url: req.url ?? '', requestHeaders: {}, auth: 'missing' });
      exchange.endMs = performance.now();
      const ctx: RequestContext = { state, req, res, exchange, requestId: 'simulator', url: new URL('http://x/') };
      fail(ctx, 500, 'simulator_error', `The simulated server failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  state.origin = `http://${host}:${address.port}`;

  return {
    origin: state.origin,
    baseUrl: `${state.origin}${API_PREFIX}`,
    port: address.port,
    partSize: state.config.partSize,
    setFaultPlan: (plan) => setFaultPlan(state, plan),
    faultReport: () => faultReport(state),
    traffic: () => state.recorder.exchanges().filter((exchange) => exchange.op !== 'control'),
    clearTraffic: () => state.recorder.clear(),
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
