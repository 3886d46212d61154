import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTimeoutMs } from '../src/kit/client-run.ts';
import { scenarioTags } from '../src/kit/conformance.ts';
import { sparseDataSpans, writeSparseFile } from '../src/kit/source-file.ts';
import { contentRangeFor, parseContentRange } from '../src/protocol/content-range.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { seededBytes } from '../src/protocol/seeded-bytes.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';
import { parseFaultPlan } from '../src/server/faults.ts';

// The server's side of the failures of issue 12: faults that store a part and fail its answer, faults on
// the create and the commit, Retry-After as Box spells it, and sparse part files for multi-GiB uploads.

const TOKEN = 'test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const PART = 1024;

async function setPlan(server: SimulatedServer, instructions: unknown[]): Promise<Response> {
  return fetch(`${server.origin}/_control/faults`, { method: 'PUT', body: JSON.stringify({ instructions }) });
}

function create(server: SimulatedServer, fileSize: number) {
  return fetch(`${server.baseUrl}/files/upload_sessions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ folder_id: '0', file_name: `f-${Math.random()}.bin`, file_size: fileSize }),
  });
}

async function session(server: SimulatedServer, fileSize: number) {
  const res = await create(server, fileSize);
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; session_endpoints: Record<string, string> };
}

function putPart(url: string, bytes: Buffer, offset: number, total: number) {
  return fetch(url, {
    method: 'PUT',
    headers: {
      ...auth,
      'content-type': 'application/octet-stream',
      'content-range': contentRangeFor(offset, bytes.length, total),
      digest: digestHeaderFor(sha1Of(bytes)),
    },
    body: bytes,
  });
}

async function listed(endpoints: Record<string, string>) {
  const res = await fetch(endpoints.list_parts ?? '', { headers: auth });
  return ((await res.json()) as { entries: { part_id: string; offset: number; size: number; sha1: string }[] }).entries;
}

/** The raw answer head as it went over the wire: status line and header names in their sent case. */
function rawHead(origin: string, request: string): Promise<string> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(seen.slice(0, end));
      }
    });
    socket.on('error', reject);
  });
}

describe('faults of issue 12 on the simulated server', () => {
  let server: SimulatedServer;
  before(async () => {
    server = await startSimulatedServer({ token: TOKEN, partSize: PART, minFileSize: 1 });
  });
  after(() => server.close());

  test('a part stored although its answer is a 500: the retry is refused as an overlap, the list and the commit have the part', async () => {
    assert.equal((await setPlan(server, [{ op: 'part', part: 2, attempt: 1, action: { kind: 'error', status: 500, persist: true } }])).status, 200);
    server.clearTraffic();
    const bytes = Buffer.alloc(2 * PART, 5);
    bytes.write('second part', PART);
    const { session_endpoints: endpoints } = await session(server, bytes.length);
    const first = ((await (await putPart(endpoints.upload_part ?? '', bytes.subarray(0, PART), 0, bytes.length)).json()) as { part: unknown }).part;
    const failed = await putPart(endpoints.upload_part ?? '', bytes.subarray(PART), PART, bytes.length);
    assert.equal(failed.status, 500);
    const retry = await putPart(endpoints.upload_part ?? '', bytes.subarray(PART), PART, bytes.length);
    assert.equal(retry.status, 416);
    const refusal = (await retry.json()) as { code: string; context_info: { conflicting_part: unknown } };
    assert.equal(refusal.code, 'range_overlaps_existing_part');
    const parts = await listed(endpoints);
    assert.equal(parts.length, 2);
    const second = parts.find((part) => part.offset === PART);
    assert.deepEqual(second && { offset: second.offset, size: second.size, sha1: second.sha1 }, {
      offset: PART,
      size: PART,
      sha1: sha1Of(bytes.subarray(PART)).toString('hex'),
    });
    assert.deepEqual(refusal.context_info.conflicting_part, second, 'the refusal names the stored part');
    const record = server.traffic().find((exchange) => exchange.status === 500);
    assert.deepEqual(record?.fault?.storedPart, second, 'the traffic record says what was stored despite the 500');
    const committed = await fetch(endpoints.commit ?? '', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', digest: digestHeaderFor(sha1Of(bytes)) },
      body: JSON.stringify({ parts: [first, second] }),
    });
    assert.equal(committed.status, 201);
  });

  test('a part stored, then the connection dropped with no answer', async () => {
    await setPlan(server, [{ op: 'part', part: 1, attempt: 1, action: { kind: 'drop', persist: true } }]);
    const bytes = Buffer.alloc(PART, 9);
    const { session_endpoints: endpoints } = await session(server, bytes.length);
    await assert.rejects(putPart(endpoints.upload_part ?? '', bytes, 0, bytes.length));
    assert.deepEqual(
      (await listed(endpoints)).map((part) => part.sha1),
      [sha1Of(bytes).toString('hex')],
    );
  });

  test('a persisting fault fires only for a part that could be stored: a wrong digest is refused and the fault waits', async () => {
    await setPlan(server, [{ op: 'part', part: 1, action: { kind: 'error', status: 503, persist: true } }]);
    const bytes = Buffer.alloc(PART, 1);
    const { session_endpoints: endpoints } = await session(server, bytes.length);
    const wrong = await fetch(endpoints.upload_part ?? '', {
      method: 'PUT',
      headers: { ...auth, 'content-range': contentRangeFor(0, PART, PART), digest: digestHeaderFor(sha1Of('other bytes')) },
      body: bytes,
    });
    assert.equal(wrong.status, 400);
    assert.deepEqual(await listed(endpoints), []);
    const report = (await (await fetch(`${server.origin}/_control/faults`)).json()) as { instructions: { fired: number }[] };
    assert.equal(report.instructions[0]?.fired, 0);
  });

  test('429 on the create, with retry-after in lower case on the wire (as Box sends it), then the create succeeds', async () => {
    await setPlan(server, [{ op: 'create', attempt: 1, action: { kind: 'rate-limit', retryAfter: 2 } }]);
    const body = JSON.stringify({ folder_id: '0', file_name: 'rate.bin', file_size: 10 });
    const head = await rawHead(
      server.origin,
      `POST /api/2.0/files/upload_sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert.match(head, /^HTTP\/1\.1 429 /);
    assert.match(head, /\r\nretry-after: 2\r\n/, 'the header name is sent in lower case');
    assert.equal((await create(server, 10)).status, 201);
    const recorded = server.traffic().filter((exchange) => exchange.op === 'create');
    assert.equal(recorded.at(-2)?.responseHeaders['retry-after'], '2');
  });

  test('a fault may spell the header otherwise; the record keeps header names as sent', async () => {
    await setPlan(server, [{ op: 'create', action: { kind: 'rate-limit', retryAfter: 1, headerName: 'Retry-After' } }]);
    const body = JSON.stringify({ folder_id: '0', file_name: 'rate.bin', file_size: 10 });
    const head = await rawHead(
      server.origin,
      `POST /api/2.0/files/upload_sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert.match(head, /\r\nRetry-After: 1\r\n/);
    const recorded = server.traffic().at(-1);
    assert.equal(recorded?.responseHeaders['Retry-After'], '1');
    assert.equal(recorded?.responseHeaders['retry-after'], undefined);
  });

  test('the commit answered 429, then 400 parts_mismatch naming the last part, then 201', async () => {
    await setPlan(server, [
      { op: 'commit', attempt: 1, action: { kind: 'rate-limit', retryAfter: 1 } },
      { op: 'commit', attempt: 2, action: { kind: 'parts-mismatch' } },
    ]);
    const bytes = Buffer.alloc(PART + 10, 4);
    const { session_endpoints: endpoints } = await session(server, bytes.length);
    const parts: unknown[] = [];
    for (const offset of [0, PART]) {
      parts.push(
        ((await (await putPart(endpoints.upload_part ?? '', bytes.subarray(offset, offset + PART), offset, bytes.length)).json()) as { part: unknown }).part,
      );
    }
    const commit = () =>
      fetch(endpoints.commit ?? '', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', digest: digestHeaderFor(sha1Of(bytes)) },
        body: JSON.stringify({ parts }),
      });
    const limited = await commit();
    assert.deepEqual([limited.status, limited.headers.get('retry-after')], [429, '1']);
    const mismatch = await commit();
    const error = (await mismatch.json()) as { status: number; code: string; message: string };
    assert.deepEqual([error.status, error.code], [400, 'parts_mismatch']);
    assert.equal(error.message, `No matching part found on server for ${JSON.stringify(parts[1])}`);
    assert.equal((await commit()).status, 201);
  });

  test('fault plans: the new kinds are checked where they apply', () => {
    const problem = (instruction: unknown) => {
      const parsed = parseFaultPlan({ instructions: [instruction] });
      return parsed.ok ? undefined : parsed.reason;
    };
    assert.equal(problem({ op: 'create', attempt: 1, action: { kind: 'error', status: 503 } }), undefined);
    assert.equal(problem({ op: 'part', action: { kind: 'drop', persist: true } }), undefined);
    assert.match(problem({ op: 'commit', action: { kind: 'error', status: 500, persist: true } }) ?? '', /persist applies to parts only/);
    assert.match(problem({ op: 'part', action: { kind: 'drop', persist: true, afterBytes: 10 } }) ?? '', /leave out afterBytes/);
    assert.match(problem({ op: 'part', action: { kind: 'parts-mismatch' } }) ?? '', /commit only/);
    assert.match(problem({ op: 'create', action: { kind: 'retry-later', retryAfter: 1 } }) ?? '', /commit only/);
    assert.match(problem({ op: 'create', part: 1, action: { kind: 'delay', ms: 1 } }) ?? '', /part instruction/);
    assert.match(problem({ op: 'part', action: { kind: 'rate-limit', retryAfter: 1, headerName: 'Retry-Later' } }) ?? '', /headerName/);
    assert.match(problem({ op: 'upload', action: { kind: 'delay', ms: 1 } }) ?? '', /"create", "part" or "commit"/);
  });
});

describe('offsets past 4 GiB and sparse part files', () => {
  test('Content-Range beyond 32 bits parses exactly; the off-by-one range of boxcli#102 is refused', () => {
    assert.deepEqual(parseContentRange('bytes 4294967296-4296015872/4296015873'), {
      ok: true,
      value: { lo: 2 ** 32, hi: 2 ** 32 + 2 ** 20, total: 2 ** 32 + 2 ** 20 + 1 },
    });
    assert.deepEqual(parseContentRange('bytes 2147483648-2181038079/4296015873'), {
      ok: true,
      value: { lo: 2 ** 31, hi: 2 ** 31 + 2 ** 25 - 1, total: 4296015873 },
    });
    assert.equal(parseContentRange('bytes 4294967296-4294967295/4294967296').ok, false);
  });

  test('the server stores a part at an offset past 4 GiB under its exact offset', async () => {
    const server = await startSimulatedServer({ token: TOKEN, partSize: 2 ** 31, minFileSize: 1 });
    try {
      const total = 2 ** 32 + 10;
      const { session_endpoints: endpoints } = await session(server, total);
      const tail = Buffer.from('0123456789');
      const answer = await putPart(endpoints.upload_part ?? '', tail, 2 ** 32, total);
      assert.equal(answer.status, 200);
      assert.deepEqual(((await answer.json()) as { part: { offset: number; size: number } }).part.offset, 2 ** 32);
      assert.deepEqual(
        (await listed(endpoints)).map((part) => [part.offset, part.size]),
        [[2 ** 32, 10]],
      );
    } finally {
      await server.close();
    }
  });

  test('with sparseParts, runs of zeros take no disk blocks and the committed file reads back exactly', async () => {
    const partSize = 1024 * 1024;
    const server = await startSimulatedServer({ token: TOKEN, partSize, minFileSize: 1, sparseParts: true });
    try {
      const bytes = Buffer.alloc(2 * partSize + 100);
      bytes.write('data at the start of part 2', partSize);
      bytes.fill(7, 2 * partSize);
      const { session_endpoints: endpoints } = await session(server, bytes.length);
      const parts: unknown[] = [];
      for (let offset = 0; offset < bytes.length; offset += partSize) {
        const answer = await putPart(endpoints.upload_part ?? '', bytes.subarray(offset, offset + partSize), offset, bytes.length);
        parts.push(((await answer.json()) as { part: unknown }).part);
      }
      const committed = await fetch(endpoints.commit ?? '', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', digest: digestHeaderFor(sha1Of(bytes)) },
        body: JSON.stringify({ parts }),
      });
      assert.equal(committed.status, 201);
      const file = ((await committed.json()) as { entries: { id: string; sha1: string }[] }).entries[0];
      assert.equal(file?.sha1, sha1Of(bytes).toString('hex'));
      const stored = server.storedFile(file?.id ?? '');
      const sizes = await Promise.all((stored?.paths ?? []).map((path) => stat(path)));
      assert.deepEqual(
        sizes.map((entry) => entry.size),
        [partSize, partSize, 100],
      );
      assert.equal(sizes[0]?.blocks, 0, 'a part of zeros holds no blocks');
      assert.ok((sizes[1]?.blocks ?? Infinity) * 512 <= 64 * 1024 + 4096, 'only the window with data is written');
      const content = Buffer.from(await (await fetch(`${server.baseUrl}/files/${file?.id}/content`, { headers: auth })).arrayBuffer());
      assert.ok(content.equals(bytes));
    } finally {
      await server.close();
    }
  });
});

describe('sparse source files and the @slow wiring', () => {
  test('data sits at the start, astride 2 GiB and 4 GiB, and at the end; holes elsewhere', () => {
    const K = 64 * 1024;
    assert.deepEqual(sparseDataSpans(4 * 2 ** 30 + 2 ** 20 + 1), [
      { offset: 0, size: K },
      { offset: 2 ** 31 - K / 2, size: K },
      { offset: 2 ** 32 - K / 2, size: K },
      { offset: 2 ** 32 + 2 ** 20 + 1 - K, size: K },
    ]);
    assert.deepEqual(sparseDataSpans(2 ** 32 + 10), [
      { offset: 0, size: K },
      { offset: 2 ** 31 - K / 2, size: K },
      { offset: 2 ** 32 + 10 - K, size: K },
    ]);
    assert.deepEqual(sparseDataSpans(1000), [{ offset: 0, size: 1000 }]);
  });

  test('a sparse file holds little disk, and the SHA-1 it reports is that of its bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparse-'));
    try {
      const path = join(dir, 'sparse.bin');
      const size = 5 * 1024 * 1024 + 3;
      const { sha1 } = await writeSparseFile(path, size, 'seed');
      const bytes = await readFile(path);
      assert.equal(bytes.length, size);
      assert.equal(sha1, sha1Of(bytes).toString('hex'));
      assert.ok(bytes.subarray(0, 64 * 1024).equals(seededBytes('seed', 0, 64 * 1024)));
      assert.ok(bytes.subarray(64 * 1024, size - 64 * 1024).every((byte) => byte === 0));
      assert.ok((await stat(path)).blocks * 512 <= 4 * 64 * 1024);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('@slow and @generated are left out unless asked for', () => {
    assert.equal(scenarioTags({}), 'not @generated and not @slow');
    assert.equal(scenarioTags({ tags: '@MUST' }), '(@MUST) and not @generated and not @slow');
    assert.equal(scenarioTags({ tags: '@slow and @C-RANGE-TOTAL' }), '(@slow and @C-RANGE-TOTAL) and not @generated');
    assert.equal(scenarioTags({ large: true }), 'not @generated');
    assert.equal(scenarioTags({ large: true, generated: { runs: 3 } }), '');
    assert.equal(runTimeoutMs(60_000, 2 ** 20), 60_000);
    assert.equal(runTimeoutMs(60_000, 4 * 2 ** 30 + 1), 300_000);
  });
});
