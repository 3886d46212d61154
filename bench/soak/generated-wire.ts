// The raw request(s) of each malformed case, aimed at the run's live sessions and files, and what the
// answer to each may be.
import { parseFaultPlan } from '../../src/server/faults.ts';
import { API } from './api.ts';
import { describeRequest } from './figures.ts';
import type { Endpoint, MalformedCase } from './generated-cases.ts';
import type { LiveState } from './generated-live.ts';
import { type RequestSpec, requestBytes } from './wire.ts';

const MiB = 1024 * 1024;

/** A JSON text of about `size` bytes: a create body padded with a long string. */
const hugeJson = (size: number) => `{"folder_id":"0","file_name":"huge-${size}.bin","file_size":${size},"pad":"${'x'.repeat(Math.max(0, size - 70))}"}`;
const deepJson = (depth: number) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;

export interface WireExpectation {
  /** The server may close without answering (the request never ended, or the client went away). */
  mayClose?: boolean;
  /** After the answer, send another request on the same connection, unless the server said it closes. */
  followUp?: boolean;
  /** A status this (valid) request must get. */
  wantStatus?: number;
}

export interface Wire {
  spec: RequestSpec | Buffer;
  describe: string;
  pieces?: number;
  gapMs?: number;
  end?: boolean;
  expect: WireExpectation;
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
export function wireFor(testCase: MalformedCase, live: LiveState, token: string, partSize: number): Wire {
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
