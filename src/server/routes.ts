import type { RouteHandler } from './context.ts';
import { controlFile, deleteFaults, deleteTraffic, getFaults, getTraffic, putFaults } from './control.ts';
import { commitSession } from './handlers/commit.ts';
import { deleteFile, fileContent, fileInfo } from './handlers/files.ts';
import { folderItems, preflightCheck, singleRequestUpload } from './handlers/items.ts';
import { listParts, uploadPart } from './handlers/parts.ts';
import { abortSession, createNewFileSession, createVersionSession, logEvent, sessionStatus } from './handlers/sessions.ts';
import type { Operation } from './recorder.ts';
import { API_PREFIX } from './state.ts';

/** One method of a route: what the request is (for the traffic record) and who answers it. */
export interface Endpoint {
  op: Operation;
  handle: RouteHandler;
}

export interface Route {
  /** Matched against the whole path (no query); capture groups become the handler's params. */
  path: RegExp;
  /** What a request with a method the route does not serve counts as (it is answered 405). */
  op: Operation;
  methods: Readonly<Partial<Record<string, Endpoint>>>;
}

const api = (pattern: string) => new RegExp(`^${API_PREFIX.replaceAll('.', '\\.')}${pattern}$`);
const control = (pattern: string) => new RegExp(`^/_control${pattern}$`);
const SESSION = '/files/upload_sessions/([^/]+)';

/** Every endpoint of the simulated server: Box's upload API, then the control API. The one place paths are spelled. */
export const ROUTES: readonly Route[] = [
  { path: api('/files/upload_sessions'), op: 'create', methods: { POST: { op: 'create', handle: createNewFileSession } } },
  { path: api('/files/(\\d+)/upload_sessions'), op: 'create-version', methods: { POST: { op: 'create-version', handle: createVersionSession } } },
  {
    path: api(SESSION),
    op: 'other',
    methods: {
      GET: { op: 'status', handle: sessionStatus },
      PUT: { op: 'part', handle: uploadPart },
      DELETE: { op: 'abort', handle: abortSession },
    },
  },
  { path: api(`${SESSION}/parts`), op: 'list', methods: { GET: { op: 'list', handle: listParts } } },
  { path: api(`${SESSION}/commit`), op: 'commit', methods: { POST: { op: 'commit', handle: commitSession } } },
  { path: api(`${SESSION}/log`), op: 'log', methods: { POST: { op: 'log', handle: logEvent } } },
  { path: api('/files/(\\d+)'), op: 'file', methods: { GET: { op: 'file', handle: fileInfo }, DELETE: { op: 'file', handle: deleteFile } } },
  {
    path: api('/files/(\\d+)/content'),
    op: 'file',
    methods: { GET: { op: 'file', handle: fileContent }, POST: { op: 'upload', handle: singleRequestUpload } },
  },
  // Around an upload, as real tools ask before and after it (rclone calls /files/content/, slash and all).
  {
    path: api('/files/content/?'),
    op: 'other',
    methods: { OPTIONS: { op: 'preflight', handle: preflightCheck }, POST: { op: 'upload', handle: singleRequestUpload } },
  },
  { path: api('/folders/(\\d+)/items'), op: 'folder', methods: { GET: { op: 'folder', handle: folderItems } } },
  {
    path: control('/faults'),
    op: 'control',
    methods: { GET: { op: 'control', handle: getFaults }, PUT: { op: 'control', handle: putFaults }, DELETE: { op: 'control', handle: deleteFaults } },
  },
  { path: control('/traffic'), op: 'control', methods: { GET: { op: 'control', handle: getTraffic }, DELETE: { op: 'control', handle: deleteTraffic } } },
  { path: control('/files/(.+)'), op: 'control', methods: { GET: { op: 'control', handle: controlFile } } },
];

export type RouteMatch =
  | { kind: 'endpoint'; op: Operation; endpoint: Endpoint; params: string[] }
  | { kind: 'method-not-allowed'; op: Operation; allowed: string[] }
  | { kind: 'none'; op: Operation };

/** The endpoint a request goes to, by method and path alone. */
export function matchRoute(method: string, path: string): RouteMatch {
  for (const route of ROUTES) {
    const match = route.path.exec(path);
    if (!match) continue;
    const endpoint = route.methods[method];
    if (endpoint) return { kind: 'endpoint', op: endpoint.op, endpoint, params: match.slice(1) };
    return { kind: 'method-not-allowed', op: route.op, allowed: Object.keys(route.methods) };
  }
  return { kind: 'none', op: path.startsWith('/_control/') ? 'control' : 'other' };
}

/** What a request to the API is, judged by method and path alone (so a rejected request is classified too). `path` follows /api/2.0. */
export function operationOf(method: string, path: string): Operation {
  return matchRoute(method, `${API_PREFIX}${path}`).op;
}
