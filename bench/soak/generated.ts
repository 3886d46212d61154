// Section 1: generated requests, valid and malformed, many at once, against `npm run server` in another
// process. Cases come from fast-check arbitraries (seeded, so a run can be repeated); each is sent as
// raw bytes and its answer judged against what every request is owed: an answer within 10 s, never a
// 5xx but the injected faults, Box's error JSON on every error, and a kept-alive connection that answers
// the next request.
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { type FaultInstruction, parseFaultPlan } from '../../src/server/faults.ts';
import { API, Client, type SessionInfo, type Step, Upload, isInjected, uploadOverWire } from './api.ts';
import { Counter, Invariants, Reservoir, type SectionResult, describeRequest, describeResult, mib, ms, percentile } from './figures.ts';
import { ANSWER_INVARIANTS, judgeAnswer } from './judge.ts';
import { type ServerProcess, crashSummary, filesUnder } from './server-process.ts';
import { type RequestSpec, WireConnection, type WireResult, exchange, jsonOf, requestBytes } from './wire.ts';

export interface GeneratedOptions {
  seed: number;
  requests: number;
  concurrency: number;
  /** Stop starting cases after this long, whatever the count. */
  maxSeconds: number;
  /** Connections that dribble headers for the whole section (slow-loris). */
  slowLoris: number;
  partSize: number;
  /** Starts the server (again, after a crash) with the given storage directory. */
  startServer: () => Promise<ServerProcess>;
  storageDir: string;
  /** The server's peak RSS (VmHWM) must stay under this. */
  maxPeakRssMiB: number;
  log?: (line: string) => void;
}

const DEADLINE_MS = 10_000;
const MiB = 1024 * 1024;

/** Faults every session follows during the section: their 5xx are expected, all others are findings. */
export const INJECTED_FAULTS: FaultInstruction[] = [
  { op: 'part', part: 2, attempt: 1, action: { kind: 'error', status: 503 } },
  { op: 'part', part: 3, attempt: 1, action: { kind: 'rate-limit', retryAfter: 0 } },
  { op: 'commit', attempt: 1, action: { kind: 'error', status: 500 } },
];

export const INVARIANTS = {
  ...ANSWER_INVARIANTS,
  keepAlive: 'kept-alive connections that did not answer the next request',
  crashes: 'server crashes',
  validFailed: 'valid requests answered with an unexpected status',
  bytesLost: 'committed files whose content read back differs from the source',
  raceBothWon: 'sessions whose commit and abort, sent at once, were both answered success',
  raceLost: 'files committed in a commit/abort race that cannot be read back identical',
  controlFrozen: 'GET /_control/traffic not answered with JSON within 10 s after the storm',
  orphans: 'files left in the storage directory after every session was aborted and every file deleted',
  memory: 'server peak RSS (VmHWM) over the budget',
} as const;

type Endpoint = 'create' | 'version' | 'part' | 'list' | 'status' | 'commit' | 'log' | 'abort' | 'file' | 'content' | 'faults' | 'root';

/** What a generated case is; `pick` chooses among the live sessions when the case runs. */
type Case =
  | { kind: 'upload'; parts: number; tail: number; order: 'forward' | 'reverse' | 'shuffled'; list: boolean; finish: 'commit' | 'abort'; seed: number }
  /** A complete session, then its commit and its abort sent at the same moment. */
  | { kind: 'abort-race'; parts: number; seed: number; abortFirst: boolean }
  | { kind: 'bad-percent'; pick: number; escape: string; suffix: '' | '/parts' | '/commit' | '/log'; method: string; at: 'session' | 'file' }
  | { kind: 'long-url'; length: number; where: 'path' | 'query' | 'session' }
  | { kind: 'odd-path'; path: string; method: string }
  | { kind: 'big-headers'; style: 'one-huge' | 'many'; size: number; endpoint: Endpoint }
  | {
      kind: 'part-headers';
      pick: number;
      range: string;
      digest: string;
      length: 'match' | 'none' | 'letters' | 'twice' | 'negative';
      chunked: boolean;
      bytes: number;
    }
  | {
      kind: 'json-body';
      endpoint: 'create' | 'version' | 'commit' | 'log' | 'faults';
      shape: 'huge' | 'deep' | 'invalid' | 'random';
      size: number;
      value: unknown;
      auth: 'valid' | 'missing' | 'wrong';
      pick: number;
    }
  | {
      kind: 'length-mismatch';
      endpoint: 'part' | 'create' | 'commit';
      direction: 'longer' | 'shorter';
      delta: number;
      extra: 'garbage' | 'pipelined';
      pick: number;
    }
  | { kind: 'wrong-method'; endpoint: Endpoint; method: string; pick: number }
  | { kind: 'random-bytes'; bytes: Uint8Array }
  | { kind: 'slow'; endpoint: 'status' | 'create' | 'root'; pieces: number; gapMs: number; pick: number }
  | { kind: 'control'; what: 'faults-get' | 'file' | 'traffic' | 'bad-plan' | 'huge-plan' | 'huge-log'; value: unknown; size: number; pick: number }
  | { kind: 'auth'; endpoint: Endpoint; header: string | null; pick: number };

const hexId = fc.stringMatching(/^[0-9A-F]{32}$/);
const methods = fc.constantFrom('PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'PROPFIND', 'FOO', 'get', 'POST', 'PUT', 'CONNECT');

function caseArbitrary(partSize: number): fc.Arbitrary<Case> {
  const pick = fc.nat();
  const endpoint = fc.constantFrom<Endpoint>('create', 'version', 'part', 'list', 'status', 'commit', 'log', 'file', 'content', 'faults', 'root');
  return fc.oneof(
    {
      weight: 600,
      arbitrary: fc.record({
        kind: fc.constant('upload' as const),
        parts: fc.integer({ min: 1, max: 4 }),
        tail: fc.integer({ min: 1, max: partSize }),
        order: fc.constantFrom('forward' as const, 'reverse' as const, 'shuffled' as const),
        list: fc.boolean(),
        finish: fc.constantFrom('commit' as const, 'commit' as const, 'abort' as const),
        seed: fc.nat(),
      }),
    },
    {
      weight: 30,
      arbitrary: fc.record({ kind: fc.constant('abort-race' as const), parts: fc.integer({ min: 1, max: 3 }), seed: fc.nat(), abortFirst: fc.boolean() }),
    },
    {
      weight: 140,
      arbitrary: fc.record({
        kind: fc.constant('bad-percent' as const),
        pick,
        escape: fc.oneof(
          fc.constantFrom('%ZZ', '%', '%G0', '%E0%A4%A', '%C3%28', '%ff%fe', '%%', '%2', '%u0041', '%ED%A0%80', '%F8%88%80%80%80'),
          fc.tuple(hexId, fc.constantFrom('%', '%Z', '%E2%82')).map(([id, bad]) => id.slice(0, 20) + bad),
        ),
        suffix: fc.constantFrom('' as const, '/parts' as const, '/commit' as const, '/log' as const),
        method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE'),
        at: fc.constantFrom('session' as const, 'file' as const),
      }),
    },
    {
      weight: 80,
      arbitrary: fc.record({
        kind: fc.constant('long-url' as const),
        length: fc.oneof(fc.integer({ min: 2_000, max: 16_000 }), fc.integer({ min: 16_000, max: 100_000 })),
        where: fc.constantFrom('path' as const, 'query' as const, 'session' as const),
      }),
    },
    {
      weight: 100,
      arbitrary: fc.record({
        kind: fc.constant('odd-path' as const),
        path: fc.oneof(
          fc.string({ maxLength: 60 }).map((text) => `/api/2.0/x${text}`),
          fc.constantFrom(
            '/api/2.0',
            '/api/2.0/',
            '//',
            '/api/2.0/files/upload_sessions/',
            '/api/2.0/files//upload_sessions',
            '/_control/',
            '/_control/files/',
            '*',
            'http://127.0.0.1/',
            '/api/2.0/files/upload_sessions/../../_control/traffic',
            '/a\tb',
            '/\u00e9',
          ),
          fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => `/api/2.0/${Buffer.from(bytes).toString('latin1')}`),
        ),
        method: fc.constantFrom('GET', 'POST', 'PUT'),
      }),
    },
    {
      weight: 80,
      arbitrary: fc.record({
        kind: fc.constant('big-headers' as const),
        style: fc.constantFrom('one-huge' as const, 'many' as const),
        size: fc.integer({ min: 8_000, max: 80_000 }),
        endpoint,
      }),
    },
    {
      weight: 200,
      arbitrary: fc.record({
        kind: fc.constant('part-headers' as const),
        pick,
        range: fc.oneof(
          fc.string({ maxLength: 40 }),
          fc
            .tuple(fc.integer({ min: -5, max: 3 * partSize }), fc.integer({ min: -5, max: 4 * partSize }), fc.integer({ min: -1, max: 5 * partSize }))
            .map(([lo, hi, total]) => `bytes ${lo}-${hi}/${total}`),
          fc.constantFrom('bytes */*', 'bytes 0-0/0', 'bytes 99999999999999999999-1/2', 'items 0-1/2', 'bytes=0-1/2', 'bytes 0-1/*'),
        ),
        digest: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('sha=', 'SHA=AAAA', 'sha=!!!!', 'md5=abc', 'sha=2jmj7l5rSw0yVb/vlWAYkK/YBwk=')),
        length: fc.constantFrom('match' as const, 'none' as const, 'letters' as const, 'twice' as const, 'negative' as const),
        chunked: fc.boolean(),
        bytes: fc.integer({ min: 0, max: partSize + 10 }),
      }),
    },
    {
      weight: 100,
      arbitrary: fc.record({
        kind: fc.constant('json-body' as const),
        endpoint: fc.constantFrom('create' as const, 'version' as const, 'commit' as const, 'log' as const, 'faults' as const),
        shape: fc.oneof(
          { weight: 1, arbitrary: fc.constant('huge' as const) },
          { weight: 2, arbitrary: fc.constant('deep' as const) },
          { weight: 3, arbitrary: fc.constant('invalid' as const) },
          { weight: 4, arbitrary: fc.constant('random' as const) },
        ),
        size: fc.oneof(fc.integer({ min: 1_000, max: 70_000 }), fc.integer({ min: 70_000, max: 6 * MiB })),
        value: fc.jsonValue({ maxDepth: 4 }),
        auth: fc.constantFrom('valid' as const, 'valid' as const, 'missing' as const, 'wrong' as const),
        pick,
      }),
    },
    {
      weight: 100,
      arbitrary: fc.record({
        kind: fc.constant('length-mismatch' as const),
        endpoint: fc.constantFrom('part' as const, 'create' as const, 'commit' as const),
        direction: fc.constantFrom('longer' as const, 'shorter' as const),
        delta: fc.integer({ min: 1, max: 4096 }),
        extra: fc.constantFrom('garbage' as const, 'pipelined' as const),
        pick,
      }),
    },
    { weight: 120, arbitrary: fc.record({ kind: fc.constant('wrong-method' as const), endpoint, method: methods, pick }) },
    { weight: 120, arbitrary: fc.record({ kind: fc.constant('random-bytes' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 4096 }) }) },
    {
      weight: 20,
      arbitrary: fc.record({
        kind: fc.constant('slow' as const),
        endpoint: fc.constantFrom('status' as const, 'create' as const, 'root' as const),
        pieces: fc.integer({ min: 3, max: 12 }),
        gapMs: fc.integer({ min: 20, max: 150 }),
        pick,
      }),
    },
    {
      weight: 60,
      arbitrary: fc.record({
        kind: fc.constant('control' as const),
        what: fc.oneof(
          { weight: 10, arbitrary: fc.constantFrom('faults-get' as const, 'file' as const, 'bad-plan' as const) },
          { weight: 1, arbitrary: fc.constantFrom('huge-plan' as const, 'huge-log' as const) },
        ),
        value: fc.jsonValue({ maxDepth: 3 }),
        size: fc.integer({ min: 65 * 1024, max: 5 * MiB }),
        pick,
      }),
    },
    {
      weight: 100,
      arbitrary: fc.record({
        kind: fc.constant('auth' as const),
        endpoint,
        header: fc.oneof(
          fc.constant(null),
          fc.constantFrom('Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'bearer x', 'Bearer wrong-token'),
          fc.string({ maxLength: 30 }),
        ),
        pick,
      }),
    },
    // Once in a long while, the control API's whole traffic log.
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('control' as const),
        what: fc.constant('traffic' as const),
        value: fc.constant(null),
        size: fc.constant(0),
        pick,
      }),
    },
  );
}

/** A JSON text of about `size` bytes: a create body padded with a long string. */
const hugeJson = (size: number) => `{"folder_id":"0","file_name":"huge-${size}.bin","file_size":${size},"pad":"${'x'.repeat(Math.max(0, size - 70))}"}`;
const deepJson = (depth: number) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;

interface Expectation {
  /** The server may close without answering (the request never ended, or the client went away). */
  mayClose?: boolean;
  /** After the answer, send another request on the same connection, unless the server said it closes. */
  followUp?: boolean;
  /** A status this (valid) request must get. */
  wantStatus?: number;
}

interface Wire {
  spec: RequestSpec | Buffer;
  describe: string;
  pieces?: number;
  gapMs?: number;
  end?: boolean;
  expect: Expectation;
}

/** Live sessions and committed files of the run: what malformed requests aim at, and what is cleaned up. */
class LiveState {
  readonly sessions: SessionInfo[] = [];
  readonly files: string[] = [];
  /** Every session and file id ever answered, for the final clean-up. */
  readonly allSessions = new Set<string>();
  readonly allFiles = new Set<string>();
  session(pick: number): SessionInfo | undefined {
    return this.sessions.length === 0 ? undefined : this.sessions[pick % this.sessions.length];
  }
  file(pick: number): string {
    return this.files.length === 0 ? '1000000001' : (this.files[pick % this.files.length] ?? '1000000001');
  }
  forget(id: string): void {
    const index = this.sessions.findIndex((session) => session.id === id);
    if (index >= 0) this.sessions.splice(index, 1);
  }
  /** Notes ids in any answer: a generated body may well create a session. */
  noteAnswer(result: WireResult): void {
    if (result.kind !== 'answer' || result.answer.status !== 201) return;
    const body = jsonOf(result.answer) as { type?: string; id?: string; entries?: { id?: string }[] } | undefined;
    if (body?.type === 'upload_session' && typeof body.id === 'string') this.allSessions.add(body.id);
    const fileId = body?.entries?.[0]?.id;
    if (typeof fileId === 'string') this.allFiles.add(fileId);
  }
}

function sessionTarget(live: LiveState, pick: number): string {
  return `${API}/files/upload_sessions/${live.session(pick)?.id ?? '0123456789ABCDEF0123456789ABCDEF'}`;
}

function endpointRequest(endpoint: Endpoint, live: LiveState, pick: number): { method: string; target: string } {
  const session = sessionTarget(live, pick);
  const file = live.file(pick);
  switch (endpoint) {
    case 'create':
      return { method: 'POST', target: `${API}/files/upload_sessions` };
    case 'version':
      return { method: 'POST', target: `${API}/files/${file}/upload_sessions` };
    case 'part':
      return { method: 'PUT', target: session };
    case 'list':
      return { method: 'GET', target: `${session}/parts` };
    case 'status':
      return { method: 'GET', target: session };
    case 'commit':
      return { method: 'POST', target: `${session}/commit` };
    case 'log':
      return { method: 'POST', target: `${session}/log` };
    case 'abort':
      return { method: 'DELETE', target: session };
    case 'file':
      return { method: 'GET', target: `${API}/files/${file}` };
    case 'content':
      return { method: 'GET', target: `${API}/files/${file}/content` };
    case 'faults':
      return { method: 'GET', target: '/_control/faults' };
    case 'root':
      return { method: 'GET', target: '/' };
  }
}

/** Methods a malformed request may use on a live target without changing it (no abort, no delete). */
const harmless = (method: string) => method !== 'DELETE';

/** The raw request(s) of a malformed case. */
function wireFor(testCase: Exclude<Case, { kind: 'upload' | 'abort-race' }>, live: LiveState, token: string, partSize: number): Wire {
  const auth: [string, string] = ['authorization', `Bearer ${token}`];
  switch (testCase.kind) {
    case 'bad-percent': {
      const method = harmless(testCase.method) ? testCase.method : 'GET';
      const target =
        testCase.at === 'session' ? `${API}/files/upload_sessions/${testCase.escape}${testCase.suffix}` : `${API}/files/${testCase.escape}/content`;
      return { spec: { method, target, headers: [auth] }, describe: describeRequest(method, target), expect: {} };
    }
    case 'long-url': {
      const filler = 'a'.repeat(testCase.length);
      const target =
        testCase.where === 'path'
          ? `${API}/files/${filler}`
          : testCase.where === 'query'
            ? `${sessionTarget(live, 0)}/parts?offset=0&x=${filler}`
            : `${API}/files/upload_sessions/${filler}`;
      return { spec: { method: 'GET', target, headers: [auth] }, describe: describeRequest('GET', target), expect: {} };
    }
    case 'odd-path':
      return {
        spec: { method: testCase.method, target: testCase.path, headers: [auth] },
        describe: describeRequest(testCase.method, testCase.path),
        expect: {},
      };
    case 'big-headers': {
      const { method, target } = endpointRequest(testCase.endpoint, live, 0);
      const headers: [string, string][] =
        testCase.style === 'one-huge'
          ? [auth, ['x-big', 'v'.repeat(testCase.size)]]
          : [auth, ...Array.from({ length: Math.ceil(testCase.size / 40) }, (_, index): [string, string] => [`x-h${index}`, 'v'.repeat(30)])];
      const safeMethod = harmless(method) ? method : 'GET';
      return {
        spec: { method: safeMethod, target, headers },
        describe: describeRequest(safeMethod, target, `${testCase.style === 'one-huge' ? 'one header' : 'headers'} of ${testCase.size} bytes`),
        expect: {},
      };
    }
    case 'part-headers': {
      const target = sessionTarget(live, testCase.pick);
      const body = Buffer.alloc(testCase.bytes, 7);
      const headers: [string, string][] = [auth, ['content-type', 'application/octet-stream'], ['content-range', testCase.range], ['digest', testCase.digest]];
      let contentLength: number | null = testCase.bytes;
      let payload = body;
      if (testCase.chunked) {
        headers.push(['transfer-encoding', 'chunked']);
        contentLength = null;
        payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      } else if (testCase.length === 'none') contentLength = null;
      else if (testCase.length === 'letters') {
        headers.push(['content-length', 'abc']);
        contentLength = null;
      } else if (testCase.length === 'twice') {
        headers.push(['content-length', String(body.length)], ['content-length', String(body.length + 1)]);
        contentLength = null;
      } else if (testCase.length === 'negative') {
        headers.push(['content-length', '-1']);
        contentLength = null;
      }
      // Without a length the body cannot be delimited: the server sees a bodiless PUT and the bytes as
      // the next request; half-closing lets it finish either way.
      const unframed = contentLength === null && !testCase.chunked;
      return {
        spec: { method: 'PUT', target, headers, body: payload, contentLength },
        describe: describeRequest(
          'PUT',
          target,
          `content-range "${testCase.range}", digest "${testCase.digest}", length ${testCase.chunked ? 'chunked' : testCase.length}, ${testCase.bytes} bytes`,
        ),
        end: unframed,
        expect: { mayClose: unframed },
      };
    }
    case 'json-body': {
      const { target } = endpointRequest(testCase.endpoint === 'faults' ? 'faults' : testCase.endpoint, live, testCase.pick);
      const realTarget = testCase.endpoint === 'faults' ? '/_control/faults' : target;
      const method = testCase.endpoint === 'faults' ? 'PUT' : 'POST';
      let text: string;
      if (testCase.shape === 'huge') text = hugeJson(testCase.size);
      else if (testCase.shape === 'deep') text = deepJson(Math.min(200_000, Math.floor(testCase.size / 4)));
      else if (testCase.shape === 'invalid') text = JSON.stringify(testCase.value ?? {}).slice(0, -1) + '\u0000';
      else text = JSON.stringify(testCase.value) ?? 'null';
      // A valid random plan would change the faults every session follows: only invalid ones are sent.
      if (testCase.endpoint === 'faults' && testCase.shape === 'random' && parseFaultPlan(testCase.value).ok) text = '{"instructions":7}';
      const headers: [string, string][] = [['content-type', 'application/json']];
      if (testCase.auth === 'valid') headers.push(auth);
      else if (testCase.auth === 'wrong') headers.push(['authorization', 'Bearer not-the-token']);
      return {
        spec: { method, target: realTarget, headers, body: Buffer.from(text) },
        describe: describeRequest(method, realTarget, `${testCase.shape} JSON body of ${text.length.toLocaleString('en')} bytes, auth ${testCase.auth}`),
        expect: { followUp: true },
      };
    }
    case 'length-mismatch': {
      const session = live.session(testCase.pick);
      let spec: RequestSpec;
      if (testCase.endpoint === 'part') {
        const size = Math.min(partSize, session?.fileSize ?? partSize);
        const bytes = Buffer.alloc(size, 3);
        spec = {
          method: 'PUT',
          target: sessionTarget(live, testCase.pick),
          headers: [
            auth,
            ['content-type', 'application/octet-stream'],
            ['content-range', `bytes 0-${size - 1}/${session?.fileSize ?? size}`],
            ['digest', 'sha=AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
          ],
          body: bytes,
        };
      } else if (testCase.endpoint === 'create') {
        spec = {
          method: 'POST',
          target: `${API}/files/upload_sessions`,
          headers: [auth, ['content-type', 'application/json']],
          body: Buffer.from(JSON.stringify({ folder_id: '0', file_name: `mismatch-${testCase.pick}.bin`, file_size: 10 })),
        };
      } else {
        spec = {
          method: 'POST',
          target: `${sessionTarget(live, testCase.pick)}/commit`,
          headers: [auth, ['content-type', 'application/json'], ['digest', 'sha=AAAAAAAAAAAAAAAAAAAAAAAAAAA=']],
          body: Buffer.from('{"parts":[]}'),
        };
      }
      const declared = spec.body?.length ?? 0;
      if (testCase.direction === 'longer') {
        const extra = testCase.extra === 'pipelined' ? requestBytes({ method: 'GET', target: '/' }) : Buffer.alloc(testCase.delta, 0x41);
        const bytes = Buffer.concat([requestBytes({ ...spec, contentLength: declared }), extra]);
        return {
          spec: bytes,
          describe: describeRequest(spec.method, spec.target, `Content-Length ${declared}, then ${extra.length} more bytes (${testCase.extra})`),
          expect: { mayClose: false },
        };
      }
      const short = Math.max(0, declared - testCase.delta);
      return {
        spec: requestBytes({ ...spec, body: spec.body?.subarray(0, short), contentLength: declared }),
        describe: describeRequest(spec.method, spec.target, `Content-Length ${declared}, ${short} bytes sent, then half-closed`),
        end: true,
        expect: { mayClose: true },
      };
    }
    case 'wrong-method': {
      const { target } = endpointRequest(testCase.endpoint, live, testCase.pick);
      // CONNECT takes an authority as its target.
      const realTarget = testCase.method === 'CONNECT' ? '127.0.0.1:1' : target;
      return {
        spec: { method: testCase.method, target: realTarget, headers: [auth] },
        describe: describeRequest(testCase.method, realTarget),
        expect: { followUp: true },
      };
    }
    case 'random-bytes':
      return {
        spec: Buffer.from(testCase.bytes),
        describe: `${testCase.bytes.length} random bytes: ${Buffer.from(testCase.bytes.subarray(0, 24)).toString('hex')}…`,
        end: true,
        expect: { mayClose: true },
      };
    case 'slow': {
      const spec: RequestSpec =
        testCase.endpoint === 'status'
          ? { method: 'GET', target: sessionTarget(live, testCase.pick), headers: [auth] }
          : testCase.endpoint === 'create'
            ? {
                method: 'POST',
                target: `${API}/files/upload_sessions`,
                headers: [auth, ['content-type', 'application/json']],
                body: Buffer.from('{"folder_id":"0","file_name":'),
              }
            : { method: 'GET', target: '/' };
      return {
        spec,
        describe: describeRequest(spec.method, spec.target, `sent in ${testCase.pieces} pieces ${testCase.gapMs} ms apart`),
        pieces: testCase.pieces,
        gapMs: testCase.gapMs,
        expect: {},
      };
    }
    case 'control': {
      switch (testCase.what) {
        case 'faults-get':
          return { spec: { method: 'GET', target: '/_control/faults' }, describe: 'GET /_control/faults', expect: { wantStatus: 200 } };
        case 'file': {
          const target = `/_control/files/${live.file(testCase.pick)}`;
          return { spec: { method: 'GET', target }, describe: describeRequest('GET', target), expect: {} };
        }
        case 'traffic':
          return { spec: { method: 'GET', target: '/_control/traffic' }, describe: 'GET /_control/traffic', expect: { wantStatus: 200 } };
        case 'bad-plan': {
          const text = parseFaultPlan(testCase.value).ok ? '{"instructions":[{"op":"nope"}]}' : (JSON.stringify(testCase.value) ?? 'null');
          return {
            spec: { method: 'PUT', target: '/_control/faults', body: Buffer.from(text) },
            describe: describeRequest('PUT', '/_control/faults', `plan ${text.slice(0, 60)}`),
            expect: {},
          };
        }
        case 'huge-plan': {
          const body = Buffer.from(`{"instructions":[],"pad":"${'p'.repeat(testCase.size + 4 * MiB)}"}`);
          return {
            spec: { method: 'PUT', target: '/_control/faults', body },
            describe: describeRequest('PUT', '/_control/faults', `${body.length} bytes`),
            expect: { followUp: true },
          };
        }
        case 'huge-log': {
          const body = Buffer.from(`{"pad":"${'l'.repeat(testCase.size)}"}`);
          const target = `${sessionTarget(live, testCase.pick)}/log`;
          return {
            spec: { method: 'POST', target, headers: [auth, ['content-type', 'application/json']], body },
            describe: describeRequest('POST', target, `${body.length} bytes`),
            expect: { followUp: true },
          };
        }
      }
      break;
    }
    case 'auth': {
      const { method, target } = endpointRequest(testCase.endpoint, live, testCase.pick);
      const safeMethod = harmless(method) ? method : 'GET';
      const headers: [string, string][] = testCase.header === null ? [] : [['authorization', testCase.header.replace(/[\r\n]/g, '')]];
      return {
        spec: { method: safeMethod, target, headers },
        describe: describeRequest(safeMethod, target, `authorization ${JSON.stringify(testCase.header)}`),
        expect: {},
      };
    }
  }
  throw new Error('unreachable');
}

function orderOf(order: 'forward' | 'reverse' | 'shuffled', seed: number): (parts: number) => number[] {
  return (parts) => {
    const indexes = Array.from({ length: parts }, (_, index) => index);
    if (order === 'reverse') return indexes.reverse();
    if (order === 'shuffled') {
      let state = seed || 1;
      for (let index = parts - 1; index > 0; index--) {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        const other = state % (index + 1);
        [indexes[index], indexes[other]] = [indexes[other] as number, indexes[index] as number];
      }
    }
    return indexes;
  };
}

export async function generatedSection(options: GeneratedOptions): Promise<SectionResult> {
  const log = options.log ?? (() => {});
  const invariants = new Invariants(Object.values(INVARIANTS));
  const statuses = new Counter();
  const kinds = new Counter();
  const validLatency = new Reservoir();
  const live = new LiveState();
  let server = await options.startServer();
  let peakRss = 0;
  const crashes: string[] = [];
  let sent = 0;
  let injected = 0;
  let uploads = 0;
  let identical = 0;
  const started = performance.now();
  const stopAt = started + options.maxSeconds * 1000;

  const setFaults = async () => {
    const result = await exchange(server.port, {
      method: 'PUT',
      target: '/_control/faults',
      body: Buffer.from(JSON.stringify({ instructions: INJECTED_FAULTS })),
    });
    if (result.kind !== 'answer' || result.answer.status !== 200) throw new Error(`could not set the fault plan: ${describeResult(result)}`);
  };
  await setFaults();

  // One restart at a time; workers that find the server gone wait for it.
  let restarting: Promise<void> | undefined;
  const noticeCrash = () => {
    if (server.alive || restarting) return restarting;
    restarting = (async () => {
      const exit = await server.exited;
      peakRss = Math.max(peakRss, await server.samplePeakRss());
      const lastLines = crashSummary(exit.stderr);
      crashes.push(`exit ${exit.code ?? exit.signal}: ${lastLines}`);
      invariants.violate(INVARIANTS.crashes, {
        request: `after ${sent.toLocaleString('en')} requests`,
        answer: `the server exited ${exit.code ?? exit.signal}: ${lastLines}`,
      });
      log(`  the server crashed after ${sent} requests (${lastLines}); restarting it`);
      live.sessions.length = 0;
      live.files.length = 0;
      server = await options.startServer();
      await setFaults();
      restarting = undefined;
    })();
    return restarting;
  };

  const rssTimer = setInterval(() => {
    void server.samplePeakRss().then((value) => (peakRss = Math.max(peakRss, value)));
  }, 500);

  /** Judges one answer against what every request is owed, and a valid request's against its status. */
  const judge = (describe: string, result: WireResult, expect: Expectation, kind: string) => {
    live.noteAnswer(result);
    judgeAnswer(invariants, statuses, `${describe} (${kind})`, result, { mayClose: expect.mayClose, sampleKind: kind });
    if (result.kind !== 'answer') return;
    if (result.answer.status >= 500 && isInjected(result.answer)) injected += 1;
    if (expect.wantStatus !== undefined) {
      invariants.check(
        INVARIANTS.validFailed,
        result.answer.status === expect.wantStatus,
        () => ({ request: `${describe} (${kind})`, answer: describeResult(result) }),
        `${kind}:${result.answer.status}`,
      );
    }
  };

  const runMalformed = async (testCase: Exclude<Case, { kind: 'upload' | 'abort-race' }>) => {
    const wire = wireFor(testCase, live, server.token, options.partSize);
    const connection = await WireConnection.open(server.port);
    if (!(connection instanceof WireConnection)) {
      await noticeCrash();
      return;
    }
    try {
      sent += 1;
      const bytes = Buffer.isBuffer(wire.spec) ? wire.spec : requestBytes(wire.spec);
      const headOnly = !Buffer.isBuffer(wire.spec) && wire.spec.method === 'HEAD';
      await connection.send(bytes, { pieces: wire.pieces, gapMs: wire.gapMs, end: wire.end, headOnly });
      const result = await connection.answer(DEADLINE_MS);
      judge(wire.describe, result, wire.expect, testCase.kind);
      if (wire.expect.followUp && result.kind === 'answer' && !/close/i.test(result.answer.headers.connection ?? '')) {
        // The server kept the connection: it must answer the next request on it.
        if (!connection.closed) {
          sent += 1;
          await connection.send(requestBytes({ method: 'GET', target: '/' }));
          const next = await connection.answer(DEADLINE_MS);
          invariants.check(INVARIANTS.keepAlive, next.kind === 'answer', () => ({
            request: `${wire.describe}, answered ${result.answer.status} without "connection: close", then GET / on the same connection`,
            answer: describeResult(next),
          }));
          if (next.kind === 'answer') statuses.add(next.answer.status);
        }
      }
    } finally {
      connection.close();
    }
  };

  const runUpload = async (testCase: Extract<Case, { kind: 'upload' }>, worker: number, index: number) => {
    const client = new Client({ port: server.port, origin: server.origin, token: server.token }, DEADLINE_MS);
    const fileSize = (testCase.parts - 1) * options.partSize + testCase.tail;
    let session: SessionInfo | undefined;
    try {
      const result = await uploadOverWire(client, {
        fileName: `soak-${worker}-${index}.bin`,
        fileSize,
        seed: `soak:${options.seed}:${testCase.seed}`,
        order: orderOf(testCase.order, testCase.seed),
        listParts: testCase.list,
        finish: testCase.finish,
        readBack: true,
        deleteAfter: true,
        onSession: (info) => {
          session = info;
          live.sessions.push(info);
          live.allSessions.add(info.id);
        },
        observe: (step: Step) => {
          if (step.result.kind === 'answer') validLatency.add(step.result.answer.latencyMs);
          judge(step.request, step.result, { wantStatus: step.injected ? undefined : wanted(step.what) }, 'upload');
        },
      });
      uploads += result.outcome === 'committed' ? 1 : 0;
      const fileId = result.upload.fileId;
      if (fileId) live.allFiles.add(fileId);
      if (result.identical === true) identical += 1;
      if (result.identical === false)
        invariants.violate(INVARIANTS.bytesLost, {
          request: `upload of ${fileSize} bytes (${testCase.parts} parts, ${testCase.order})`,
          answer: `file ${fileId} read back differs`,
        });
    } finally {
      sent += client.sent;
      client.close();
      if (session) live.forget(session.id);
    }
  };

  const runRace = async (testCase: Extract<Case, { kind: 'abort-race' }>, worker: number, index: number) => {
    const address = { port: server.port, origin: server.origin, token: server.token };
    const committer = new Client(address, DEADLINE_MS);
    const aborter = new Client(address, DEADLINE_MS);
    const observe = (step: Step) =>
      judge(
        step.request,
        step.result,
        { wantStatus: step.injected || step.what === 'commit' || step.what === 'abort' ? undefined : wanted(step.what) },
        'abort-race',
      );
    const upload = new Upload(committer, `race-${worker}-${index}.bin`, testCase.parts * options.partSize, `race:${options.seed}:${testCase.seed}`, observe, 4);
    try {
      await upload.create();
      if (!upload.session) return;
      live.allSessions.add(upload.session.id);
      for (const part of upload.missing()) if (!(await upload.putPart(part)).ok) return;
      // The injected fault answers the first commit of every session with a 500: that one goes alone.
      const single = new Upload(committer, upload.fileName, upload.fileSize, upload.seed, observe, 1);
      single.session = upload.session;
      for (const [part, record] of upload.stored) single.stored.set(part, record);
      const first = await single.commit();
      if (first.ok || !first.injected) return;
      const abortView = new Upload(aborter, upload.fileName, upload.fileSize, upload.seed, observe, 1);
      abortView.session = upload.session;
      const [committed, aborted] = testCase.abortFirst
        ? await Promise.all([Promise.resolve().then(() => single.commit()), abortView.abort()]).then(([c, a]) => [c, a] as const)
        : await Promise.all([single.commit(), Promise.resolve().then(() => abortView.abort())]).then(([c, a]) => [c, a] as const);
      invariants.check(INVARIANTS.raceBothWon, !(committed.ok && aborted.ok), () => ({
        request: `POST …/${upload.session?.id}/commit and DELETE …/${upload.session?.id} at once`,
        answer: `commit: ${describeResult(committed.result)}; abort: ${describeResult(aborted.result)}`,
      }));
      if (committed.ok && single.fileId) {
        live.allFiles.add(single.fileId);
        const back = await single.readBack();
        invariants.check(INVARIANTS.raceLost, back.identical === true, () => ({ request: back.step.request, answer: describeResult(back.step.result) }));
        await single.deleteFile();
      }
    } finally {
      sent += committer.sent + aborter.sent;
      committer.close();
      aborter.close();
    }
  };

  // Slow-loris: connections that send a header line now and then and never finish, for the whole run.
  const loris: WireConnection[] = [];
  for (let index = 0; index < options.slowLoris; index++) {
    const connection = await WireConnection.open(server.port);
    if (connection instanceof WireConnection) {
      loris.push(connection);
      void connection.send(Buffer.from(`GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n`));
    }
  }
  const lorisTimer = setInterval(() => {
    for (const connection of loris) if (!connection.closed) void connection.send(Buffer.from('x-slow: 1\r\n'));
  }, 1_000);

  // Cases are drawn in seeded blocks, as the workers need them.
  const arbitrary = caseArbitrary(options.partSize);
  const BLOCK = 500;
  let block: Case[] = [];
  let drawn = 0;
  const nextCase = (): Case => {
    if (block.length === 0) block = fc.sample(arbitrary, { seed: options.seed + drawn / BLOCK, numRuns: BLOCK });
    drawn += 1;
    return block.shift() as Case;
  };

  let lastProgress = performance.now();
  const worker = async (id: number) => {
    for (let index = 0; sent < options.requests && performance.now() < stopAt; index++) {
      if (restarting) await restarting;
      const testCase = nextCase();
      kinds.add(testCase.kind);
      if (testCase.kind === 'upload') await runUpload(testCase, id, index);
      else if (testCase.kind === 'abort-race') await runRace(testCase, id, index);
      else await runMalformed(testCase);
      if (!server.alive) await noticeCrash();
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        log(`  ${sent.toLocaleString('en')} requests, ${((performance.now() - started) / 1000).toFixed(0)} s, server peak RSS ${mib(peakRss)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(lorisTimer);
  const lorisClosed = loris.filter((connection) => connection.closed).length;
  for (const connection of loris) connection.close();

  // After the storm: the control API still answers, and clean-up leaves nothing behind.
  if (!server.alive) await noticeCrash();
  const traffic = await exchange(server.port, { method: 'GET', target: '/_control/traffic' }, { deadlineMs: DEADLINE_MS });
  invariants.check(INVARIANTS.controlFrozen, traffic.kind === 'answer' && traffic.answer.status === 200 && jsonOf(traffic.answer) !== undefined, () => ({
    request: 'GET /_control/traffic',
    answer: describeResult(traffic).slice(0, 300),
  }));
  const trafficBytes = traffic.kind === 'answer' ? traffic.answer.body.length : 0;
  await sleep(0);
  const cleanup = new Client({ port: server.port, origin: server.origin, token: server.token });
  for (const id of live.allSessions) await cleanup.send({ method: 'DELETE', target: `${API}/files/upload_sessions/${id}`, headers: [cleanup.auth] });
  for (const id of live.allFiles) await cleanup.send({ method: 'DELETE', target: `${API}/files/${id}`, headers: [cleanup.auth] });
  cleanup.close();
  const left = await filesUnder(options.storageDir);
  invariants.check(INVARIANTS.orphans, left === 0, () => ({
    request: `abort ${live.allSessions.size} sessions, delete ${live.allFiles.size} files`,
    answer: `${left} files remain under ${options.storageDir}`,
  }));
  clearInterval(rssTimer);
  peakRss = Math.max(peakRss, await server.samplePeakRss());
  await server.stop();
  invariants.check(INVARIANTS.memory, peakRss < options.maxPeakRssMiB, () => ({
    request: `${sent.toLocaleString('en')} requests`,
    answer: `peak RSS ${mib(peakRss)}, budget ${options.maxPeakRssMiB} MiB`,
  }));

  const latencies = validLatency.values;
  return {
    title: `generated requests (seed ${options.seed}, ${options.concurrency} concurrent, ${options.slowLoris} slow-loris connections open throughout)`,
    lines: [
      `${sent.toLocaleString('en')} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)}/s); cases: ${kinds.format('count')}`,
      `answers by status: ${statuses.format()}`,
      `5xx from injected faults: ${injected.toLocaleString('en')}`,
      `valid uploads committed: ${uploads.toLocaleString('en')}, read back identical: ${identical.toLocaleString('en')}`,
      `latency of valid requests: p50 ${ms(percentile(latencies, 50))}, p95 ${ms(percentile(latencies, 95))}, p99 ${ms(percentile(latencies, 99))}`,
      `slow-loris connections closed by the server during the run: ${lorisClosed} of ${loris.length}`,
      `GET /_control/traffic afterwards: ${(trafficBytes / MiB).toFixed(1)} MiB`,
      `server peak RSS (VmHWM): ${mib(peakRss)}${crashes.length > 0 ? ` (highest of ${crashes.length + 1} server processes)` : ''}`,
    ],
    invariants: invariants.all(),
  };
}

function wanted(what: Step['what']): number {
  switch (what) {
    case 'create':
    case 'commit':
      return 201;
    case 'abort':
    case 'delete':
      return 204;
    default:
      return 200;
  }
}
