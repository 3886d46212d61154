/**
 * The minimal server's own defects, checked without the kit: for a defect, one exchange on loopback that the
 * correct server refuses (or answers right) and the broken one gets wrong in just the way its story says.
 * The server is a real process; parts are 1 KiB so that files are a few bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MINIMAL_SERVER, ROOT, startServerProcess } from './support/kit.ts';
import { SERVER_DEFECTS } from './support/self-test-servers.ts';

const TOKEN = 'defects-token-41c9';
const PART = 1024;
/** Three parts, the last one short. */
const FILE = 3000;

interface Endpoints {
  upload_part: string;
  commit: string;
  abort: string;
  list_parts: string;
  status: string;
}
interface Session {
  id: string;
  total_parts: number;
  num_parts_processed: number;
  session_endpoints: Endpoints;
}
interface PartRecord {
  part_id: string;
  offset: number;
  size: number;
  sha1: string;
}
interface Answer {
  status: number;
  contentType: string;
  json: unknown;
}

const bytesOf = (size: number) => Buffer.from(Array.from({ length: size }, (_, index) => (index * 31 + 7) & 255));
const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest();
const digestOf = (bytes: Buffer) => `sha=${sha1(bytes).toString('base64')}`;
const field = (value: unknown, name: string): unknown => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined);

/** Raw calls to one running minimal server. */
class Api {
  #names = 0;
  constructor(readonly base: string) {}

  async call(method: string, url: string, options: { body?: string | Buffer; headers?: Record<string, string>; auth?: string } = {}): Promise<Answer> {
    const auth = options.auth ?? `Bearer ${TOKEN}`;
    const headers = { ...(auth === '' ? {} : { authorization: auth }), ...options.headers };
    const response = await fetch(url, { method, headers, body: options.body });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    return { status: response.status, contentType, json: contentType.includes('json') ? JSON.parse(text) : text };
  }

  /** A create with a valid body, `fields` replacing (or, as undefined, removing) its fields. */
  create(fields: Record<string, unknown> = {}, auth?: string): Promise<Answer> {
    const body = JSON.stringify({ folder_id: '0', file_name: `f-${this.#names++}.bin`, file_size: FILE, ...fields });
    return this.call('POST', `${this.base}/files/upload_sessions`, { body, auth });
  }

  async session(size = FILE): Promise<{ session: Session; file: Buffer }> {
    const answer = await this.create({ file_size: size });
    assert.equal(answer.status, 201, JSON.stringify(answer.json));
    return { session: answer.json as Session, file: bytesOf(size) };
  }

  /** PUTs `body` as the range lo..hi; the Digest is the body's unless given. */
  put(session: Session, lo: number, hi: number, body: Buffer, options: { total?: number; digest?: string } = {}): Promise<Answer> {
    const headers = {
      'content-type': 'application/octet-stream',
      'content-range': `bytes ${lo}-${hi}/${options.total ?? FILE}`,
      digest: options.digest ?? digestOf(body),
    };
    return this.call('PUT', session.session_endpoints.upload_part, { body, headers });
  }

  /** Stores part `index` (0-based) of `file` correctly; its record. */
  async store(session: Session, file: Buffer, index: number): Promise<PartRecord> {
    const lo = index * PART;
    const body = file.subarray(lo, Math.min(lo + PART, file.length));
    const answer = await this.put(session, lo, lo + body.length - 1, body, { total: file.length });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    return field(answer.json, 'part') as PartRecord;
  }

  async storeAll(session: Session, file: Buffer): Promise<PartRecord[]> {
    const records = [];
    for (let index = 0; index * PART < file.length; index++) records.push(await this.store(session, file, index));
    return records;
  }

  /** Commits with this Digest header, or none. */
  commit(session: Session, parts: unknown[], digest: string | undefined): Promise<Answer> {
    const headers = { 'content-type': 'application/json', ...(digest === undefined ? {} : { digest }) };
    return this.call('POST', session.session_endpoints.commit, { body: JSON.stringify({ parts }), headers });
  }

  list(session: Session, query = ''): Promise<Answer> {
    return this.call('GET', `${session.session_endpoints.list_parts}${query}`);
  }
}

async function withServer<T>(args: string[], use: (api: Api) => Promise<T>): Promise<T> {
  const server = await startServerProcess([MINIMAL_SERVER, '--token', TOKEN, '--part-size', String(PART), ...args]);
  try {
    return await use(new Api(server.baseUrl));
  } finally {
    await server.stop();
  }
}

/** A Box ClientError of this status. */
function assertBoxError(answer: Answer, status: number, what: string): void {
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.json)}`);
  assert.equal(field(answer.json, 'type'), 'error', what);
  assert.equal(field(answer.json, 'status'), status, what);
  assert.equal(typeof field(answer.json, 'code'), 'string', what);
  assert.equal(typeof field(answer.json, 'request_id'), 'string', what);
}

/**
 * One exchange per defect: what it observes, on the correct server and on the one with the defect. Each
 * observation is small data, compared whole.
 */
const CASES: readonly { defect: string; observe: (api: Api) => Promise<unknown>; correct: unknown; broken: unknown }[] = [
  { defect: 'accepts-empty-file-name', observe: async (api) => (await api.create({ file_name: '' })).status, correct: 400, broken: 201 },
  {
    defect: 'accepts-string-file-size',
    observe: async (api) => [(await api.create({ file_size: '21000000' })).status, (await api.create({ file_size: 'lots' })).status],
    correct: [400, 400],
    broken: [201, 400],
  },
  {
    defect: 'accepts-null-folder',
    observe: async (api) => [(await api.create({ folder_id: null })).status, (await api.create({ folder_id: undefined })).status],
    correct: [400, 400],
    broken: [201, 400],
  },
  {
    defect: 'accepts-non-string-file-name',
    observe: async (api) => [(await api.create({ file_name: 5 })).status, (await api.create({ file_name: true })).status],
    correct: [400, 400],
    broken: [201, 201],
  },
  { defect: 'accepts-fractional-file-size', observe: async (api) => (await api.create({ file_size: 3000.5 })).status, correct: 400, broken: 201 },
  {
    defect: 'total-parts-floor-plus-one',
    observe: async (api) => [(await api.session(3 * PART)).session.total_parts, (await api.session(FILE)).session.total_parts],
    correct: [3, 3],
    broken: [4, 3],
  },
  {
    defect: 'part-no-wrapper',
    observe: async (api) => {
      const { session, file } = await api.session();
      const answer = await api.put(session, 0, PART - 1, file.subarray(0, PART));
      return [answer.status, field(answer.json, 'part') !== undefined, typeof field(answer.json, 'part_id')];
    },
    correct: [200, true, 'undefined'],
    broken: [200, false, 'string'],
  },
  {
    defect: 'sha1-uppercase',
    observe: async (api) => {
      const { session, file } = await api.session();
      return (await api.store(session, file, 0)).sha1 === sha1(file.subarray(0, PART)).toString('hex');
    },
    correct: true,
    broken: false,
  },
  {
    defect: 'size-check-first-part-only',
    observe: async (api) => {
      const { session, file } = await api.session();
      return [
        (await api.put(session, 0, PART - 2, file.subarray(0, PART - 1))).status,
        (await api.put(session, PART, 2 * PART - 2, file.subarray(PART, 2 * PART - 1))).status,
      ];
    },
    correct: [416, 416],
    broken: [416, 200],
  },
  {
    // The last slot starts at 2048; a part there that stops 52 bytes before the file's end.
    defect: 'short-last-slot-accepted',
    observe: async (api) => {
      const { session, file } = await api.session();
      return (await api.put(session, 2 * PART, FILE - 53, file.subarray(2 * PART, FILE - 52))).status;
    },
    correct: 416,
    broken: 200,
  },
  {
    defect: 'align-check-skips-last',
    observe: async (api) => {
      const { session, file } = await api.session();
      return [
        (await api.put(session, 2 * PART + 1, FILE - 1, file.subarray(2 * PART + 1))).status,
        (await api.put(session, 1, PART, file.subarray(1, PART + 1))).status,
      ];
    },
    correct: [416, 416],
    broken: [200, 416],
  },
  {
    defect: 'long-body-truncated',
    observe: async (api) => {
      const { session, file } = await api.session();
      const answer = await api.put(session, 0, PART - 1, file.subarray(0, PART + 100));
      return [answer.status < 500 && answer.status >= 400, field(field(answer.json, 'part'), 'size') ?? null];
    },
    correct: [true, null],
    broken: [false, PART],
  },
  {
    defect: 'range-total-unchecked',
    observe: async (api) => {
      const { session, file } = await api.session();
      return (await api.put(session, 0, PART - 1, file.subarray(0, PART), { total: FILE + 1 })).status;
    },
    correct: 416,
    broken: 200,
  },
  {
    defect: 'digest-malformed-accepted',
    observe: async (api) => {
      const { session, file } = await api.session();
      const body = (index: number) => file.subarray(index * PART, (index + 1) * PART);
      const range = async (index: number, digest: string) => (await api.put(session, index * PART, (index + 1) * PART - 1, body(index), { digest })).status;
      return [await range(0, digestOf(Buffer.from('other'))), await range(0, 'sha=xyz'), await range(1, `sha=${sha1(body(1)).toString('hex')}`)];
    },
    correct: [400, 400, 400],
    broken: [400, 200, 200],
  },
  {
    defect: 'overlap-last-slot-replaces',
    observe: async (api) => {
      const { session, file } = await api.session();
      await api.store(session, file, 2);
      const other = Buffer.alloc(FILE - 2 * PART, 1);
      return (await api.put(session, 2 * PART, FILE - 1, other)).status;
    },
    correct: 416,
    broken: 200,
  },
  {
    defect: 'list-contiguous-only',
    observe: async (api) => {
      const { session, file } = await api.session();
      await api.store(session, file, 2);
      await api.store(session, file, 0);
      const listing = await api.list(session);
      return [(field(listing.json, 'entries') as PartRecord[]).map((part) => part.offset), field(listing.json, 'total_count')];
    },
    correct: [[0, 2 * PART], 2],
    broken: [[0], 2],
  },
  {
    defect: 'list-past-end-400',
    observe: async (api) => {
      const { session, file } = await api.session();
      await api.store(session, file, 0);
      const page = await api.list(session, '?offset=5&limit=2');
      return [page.status, field(page.json, 'entries') ?? null];
    },
    correct: [200, []],
    broken: [400, null],
  },
  {
    defect: 'status-skips-short-last',
    observe: async (api) => {
      const { session, file } = await api.session();
      await api.storeAll(session, file);
      return field((await api.call('GET', session.session_endpoints.status)).json, 'num_parts_processed');
    },
    correct: 3,
    broken: 2,
  },
  {
    // Every part stored, the middle one left out of the list, the whole file's Digest.
    defect: 'commit-ignores-list',
    observe: async (api) => {
      const { session, file } = await api.session();
      const [first, , last] = await api.storeAll(session, file);
      return (await api.commit(session, [first, last], digestOf(file))).status;
    },
    correct: 400,
    broken: 201,
  },
  {
    defect: 'commit-counts-entries',
    observe: async (api) => {
      const { session, file } = await api.session();
      const [first, , last] = await api.storeAll(session, file);
      return (await api.commit(session, [first, first, last], digestOf(file))).status;
    },
    correct: 400,
    broken: 201,
  },
  {
    defect: 'commit-exact-multiple-refused',
    observe: async (api) => {
      const statuses = [];
      for (const size of [3 * PART, FILE]) {
        const { session, file } = await api.session(size);
        statuses.push((await api.commit(session, await api.storeAll(session, file), digestOf(file))).status);
      }
      return statuses;
    },
    correct: [201, 201],
    broken: [400, 201],
  },
  {
    defect: 'commit-no-entries-wrapper',
    observe: async (api) => {
      const { session, file } = await api.session();
      const answer = await api.commit(session, await api.storeAll(session, file), digestOf(file));
      return [answer.status, Array.isArray(field(answer.json, 'entries')), field(answer.json, 'type') ?? null];
    },
    correct: [201, true, null],
    broken: [201, false, 'file'],
  },
  {
    defect: 'commit-digest-malformed-accepted',
    observe: async (api) => {
      const { session, file } = await api.session();
      const parts = await api.storeAll(session, file);
      const statuses = [];
      for (const digest of [digestOf(Buffer.from('other')), undefined, `sha=${sha1(file).toString('hex')}`])
        statuses.push((await api.commit(session, parts, digest)).status);
      return statuses;
    },
    correct: [400, 400, 400],
    broken: [400, 400, 201],
  },
  {
    defect: 'abort-keeps-list',
    observe: async (api) => {
      const { session, file } = await api.session();
      await api.store(session, file, 0);
      const aborted = await api.call('DELETE', session.session_endpoints.abort);
      const status = await api.call('GET', session.session_endpoints.status);
      return [aborted.status, (await api.list(session)).status, status.status];
    },
    correct: [204, 404, 404],
    broken: [204, 200, 404],
  },
  {
    defect: 'auth-scheme-unchecked',
    observe: async (api) => [(await api.create({}, `Token ${TOKEN}`)).status, (await api.create({}, TOKEN)).status, (await api.create({}, '')).status],
    correct: [401, 401, 401],
    broken: [201, 201, 401],
  },
  {
    defect: 'auth-abort-unchecked',
    observe: async (api) => {
      const { session } = await api.session();
      return (await api.call('DELETE', session.session_endpoints.abort, { auth: 'Bearer wrong' })).status;
    },
    correct: 401,
    broken: 204,
  },
  {
    defect: 'unknown-session-html',
    observe: async (api) => {
      const answer = await api.call('GET', `${api.base}/files/upload_sessions/ABCDEF0123456789`);
      return [answer.status, answer.contentType.split(';')[0]];
    },
    correct: [404, 'application/json'],
    broken: [404, 'text/html'],
  },
  {
    defect: 'commit-202-forever',
    observe: async (api) => {
      const { session, file } = await api.session();
      const parts = await api.storeAll(session, file);
      const statuses = [];
      for (let attempt = 0; attempt < 3; attempt++) statuses.push((await api.commit(session, parts, digestOf(file))).status);
      return statuses;
    },
    correct: [201, 404, 404],
    broken: [202, 202, 202],
  },
];

describe('the minimal server refuses what the rules say, and each defect gets its one case wrong', () => {
  let correct: Api;
  let stop: () => Promise<void>;
  before(async () => {
    const server = await startServerProcess([MINIMAL_SERVER, '--token', TOKEN, '--part-size', String(PART)]);
    correct = new Api(server.baseUrl);
    stop = server.stop;
  });
  after(() => stop());

  test('the self-test table names exactly the defects the server has (an unknown --defect would run a correct server)', () => {
    const source = readFileSync(join(ROOT, MINIMAL_SERVER), 'utf8');
    const known = new Set([...source.matchAll(/defect [!=]== '([a-z0-9-]+)'/g)].map((match) => match[1]));
    assert.deepEqual([...known].sort(), SERVER_DEFECTS.map(({ defect }) => defect).sort());
    for (const { defect } of CASES) assert.ok(known.has(defect), defect);
  });

  test('the correct server refuses every invalid create field with a Box error 400, and accepts the edges that are valid', async () => {
    const invalid: Record<string, unknown>[] = [
      { file_name: '' },
      { file_name: null },
      { file_name: 5 },
      { file_name: true },
      { file_name: undefined },
      { file_name: 'n'.repeat(256) },
      { folder_id: undefined },
      { folder_id: '' },
      { folder_id: null },
      { folder_id: 0 },
      { file_size: undefined },
      { file_size: null },
      { file_size: '3000' },
      { file_size: true },
      { file_size: 0 },
      { file_size: -5 },
      { file_size: 3000.5 },
      { file_size: 2 ** 53 },
    ];
    for (const fields of invalid) assertBoxError(await correct.create(fields), 400, JSON.stringify(fields));
    assert.equal((await correct.create({ file_name: 'n'.repeat(255) })).status, 201);
    assert.equal((await correct.create({ file_size: 1 })).status, 201);
  });

  test('the correct server wants the Bearer scheme (in any case) and the token', async () => {
    for (const auth of ['', `Token ${TOKEN}`, TOKEN, 'Bearer wrong', `Bearer${TOKEN}`])
      assertBoxError(await correct.create({}, auth), 401, `authorization "${auth}"`);
    assert.equal((await correct.create({}, `bearer ${TOKEN}`)).status, 201);
  });

  test('the correct server refuses each malformed part with a 4xx and stores none of them', async () => {
    const { session, file } = await correct.session();
    const first = file.subarray(0, PART);
    const refusals: [string, () => Promise<Answer>][] = [
      ['a Digest that is not base64', () => correct.put(session, 0, PART - 1, first, { digest: 'sha=xyz' })],
      ['a hex Digest', () => correct.put(session, 0, PART - 1, first, { digest: `sha=${sha1(first).toString('hex')}` })],
      ['a body longer than its range', () => correct.put(session, 0, PART - 1, file.subarray(0, PART + 1))],
      ['a body shorter than its range', () => correct.put(session, 0, PART - 1, file.subarray(0, PART - 1))],
      ['a total other than file_size', () => correct.put(session, 0, PART - 1, first, { total: FILE - 1 })],
      ['hi below lo', () => correct.put(session, PART - 1, 0, first)],
      ['a short part in the last slot', () => correct.put(session, 2 * PART, FILE - 2, file.subarray(2 * PART, FILE - 1))],
      ['a misaligned last part', () => correct.put(session, 2 * PART + 1, FILE - 1, file.subarray(2 * PART + 1))],
    ];
    for (const [what, send] of refusals) {
      const { status } = await send();
      assert.ok(status >= 400 && status < 500, `${what}: ${status}`);
    }
    assert.equal(field((await correct.list(session)).json, 'total_count'), 0);
  });

  test('the correct server refuses a commit list that is not exactly the stored records, and then commits the right one', async () => {
    const { session, file } = await correct.session();
    const [first, middle, last] = (await correct.storeAll(session, file)) as [PartRecord, PartRecord, PartRecord];
    const other = await correct.session();
    const foreign = await correct.store(other.session, other.file, 1);
    const lists: [string, unknown[]][] = [
      ['the middle part left out', [first, last]],
      ['the first part left out', [middle, last]],
      ['the last part left out', [first, middle]],
      ['a duplicate in place of the middle part', [first, first, last]],
      ['an unknown part_id', [first, { ...middle, part_id: 'FFFFFFFF' }, last]],
      ['a part of another session', [first, foreign, last]],
      ['an altered offset', [first, { ...middle, offset: middle.offset + 1 }, last]],
      ['an altered size', [first, { ...middle, size: middle.size - 1 }, last]],
      ['an altered sha1', [first, { ...middle, sha1: '0'.repeat(40) }, last]],
      ['no list', []],
    ];
    for (const [what, parts] of lists) assertBoxError(await correct.commit(session, parts, digestOf(file)), 400, what);
    assertBoxError(await correct.commit(session, [first, middle, last], `sha=${sha1(file).toString('hex')}`), 400, 'a hex Digest');
    const committed = await correct.commit(session, [last, first, middle], digestOf(file));
    assert.equal(committed.status, 201, JSON.stringify(committed.json));
    assert.equal(field((field(committed.json, 'entries') as unknown[])[0], 'size'), FILE);
  });

  for (const { defect, observe, correct: right, broken } of CASES) {
    test(`${defect}: ${JSON.stringify(right)} from the correct server, ${JSON.stringify(broken)} with the defect`, async () => {
      assert.deepEqual(await observe(correct), right, 'the correct server');
      assert.deepEqual(await withServer(['--defect', defect], observe), broken, `--defect ${defect}`);
    });
  }

  test('numeric-ids: sessions are numbered "1", "2", … and every endpoint still finds them', async () => {
    await withServer(['--variant', 'numeric-ids'], async (api) => {
      const { session, file } = await api.session();
      assert.equal(session.id, '1');
      assert.equal((await api.session()).session.id, '2');
      const committed = await api.commit(session, await api.storeAll(session, file), digestOf(file));
      assert.equal(committed.status, 201);
      assert.equal(field((field(committed.json, 'entries') as unknown[])[0], 'id'), '1');
    });
  });

  test('list-descending: parts come by descending offset, paged in that order', async () => {
    await withServer(['--variant', 'list-descending'], async (api) => {
      const { session, file } = await api.session();
      await api.storeAll(session, file);
      const page = await api.list(session, '?offset=1&limit=2');
      assert.deepEqual(
        (field(page.json, 'entries') as PartRecord[]).map((part) => part.offset),
        [PART, 0],
      );
    });
  });

  test('commit-202-twice: the first two commits of a session are answered 202 with retry-after 1, the third commits', async () => {
    await withServer(['--variant', 'commit-202-twice'], async (api) => {
      const { session, file } = await api.session();
      const parts = await api.storeAll(session, file);
      const statuses = [];
      for (let attempt = 0; attempt < 3; attempt++) statuses.push((await api.commit(session, parts, digestOf(file))).status);
      assert.deepEqual(statuses, [202, 202, 201]);
    });
  });

  test('small-file-refused: a create under 20 MB is refused 400 file_size_too_small', async () => {
    await withServer(['--variant', 'small-file-refused'], async (api) => {
      const answer = await api.create();
      assertBoxError(answer, 400, 'a 3000-byte file');
      assert.equal(field(answer.json, 'code'), 'file_size_too_small');
      assert.equal((await api.create({ file_size: 21_000_000 })).status, 201);
    });
  });
});
