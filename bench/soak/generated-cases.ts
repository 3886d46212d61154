// The soak's generated cases: what each is, and the seeded fast-check arbitrary that draws them.
import fc from 'fast-check';

const MiB = 1024 * 1024;

export type Endpoint = 'create' | 'version' | 'part' | 'list' | 'status' | 'commit' | 'log' | 'abort' | 'file' | 'content' | 'faults' | 'root';

/** What a generated case is; `pick` chooses among the live sessions when the case runs. */
export type Case =
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

export function caseArbitrary(partSize: number): fc.Arbitrary<Case> {
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

/** A case sent as crafted bytes (every kind but a valid upload and the commit/abort race). */
export type MalformedCase = Exclude<Case, { kind: 'upload' | 'abort-race' }>;

/** The order a valid upload sends its parts in. */
export function orderOf(order: 'forward' | 'reverse' | 'shuffled', seed: number): (parts: number) => number[] {
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
