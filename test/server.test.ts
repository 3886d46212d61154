import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';

const TOKEN = 'test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let server: SimulatedServer;

before(async () => {
  server = await startSimulatedServer({ token: TOKEN, partSize: 1024, minFileSize: 1 });
});
after(() => server.close());

async function createSession(fileSize: number, fileName = `f-${Math.random()}.bin`) {
  const res = await fetch(`${server.baseUrl}/files/upload_sessions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ folder_id: '0', file_name: fileName, file_size: fileSize }),
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; session_endpoints: Record<string, string> };
}

function putPart(url: string, bytes: Buffer, headers: Record<string, string>) {
  return fetch(url, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream', ...headers }, body: bytes });
}

/** Box's ClientError shape; never a 5xx. */
async function expectBoxError(res: Response, status: number, code?: string) {
  assert.equal(res.status, status);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.type, 'error');
  assert.equal(body.status, status);
  assert.equal(typeof body.message, 'string');
  assert.equal(typeof body.request_id, 'string');
  if (code) assert.equal(body.code, code);
}

async function listParts(session: { session_endpoints: Record<string, string> }) {
  const res = await fetch(session.session_endpoints.list_parts ?? '', { headers: auth });
  return ((await res.json()) as { total_count: number }).total_count;
}

describe('malformed requests get a 4xx with Box error JSON and persist nothing', () => {
  const bytes = Buffer.alloc(1024, 7);
  const good = { 'content-range': 'bytes 0-1023/2048', digest: digestHeaderFor(sha1Of(bytes)) };
  const cases: [string, Record<string, string>, Buffer, number, string][] = [
    ['no Content-Range', { digest: good.digest }, bytes, 400, 'invalid_content_range'],
    ['malformed Content-Range', { ...good, 'content-range': 'bytes=0-1023/2048' }, bytes, 400, 'invalid_content_range'],
    ['range past the file', { ...good, 'content-range': 'bytes 1024-2048/2049' }, bytes, 416, 'requested_range_not_satisfiable'],
    ['misaligned range', { ...good, 'content-range': 'bytes 1-1024/2048' }, bytes, 416, 'requested_range_not_satisfiable'],
    ['short part that is not the last', { ...good, 'content-range': 'bytes 0-511/2048' }, bytes.subarray(0, 512), 416, 'requested_range_not_satisfiable'],
    ['body shorter than its range', good, bytes.subarray(0, 1000), 400, 'invalid_request'],
    ['no Digest', { 'content-range': good['content-range'] }, bytes, 400, 'bad_digest'],
    ['hex Digest', { ...good, digest: `sha=${sha1Of(bytes).toString('hex')}` }, bytes, 400, 'bad_digest'],
    ['mismatching Digest', { ...good, digest: digestHeaderFor(sha1Of('other')) }, bytes, 400, 'bad_digest'],
  ];
  /** PUTs the part in `chunks` with chunked transfer encoding (no Content-Length); resolves the status. */
  const putChunked = (url: string, chunks: Buffer[]) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'PUT', headers: { ...auth, ...good } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });

  for (const [name, headers, body, status, code] of cases) {
    test(name, async () => {
      const session = await createSession(2048);
      await expectBoxError(await putPart(session.session_endpoints.upload_part ?? '', body, headers), status, code);
      assert.equal(await listParts(session), 0);
    });
  }

  test('a body longer than its range, sent chunked', async () => {
    const session = await createSession(2048);
    const status = await putChunked(session.session_endpoints.upload_part ?? '', [bytes, Buffer.alloc(10)]);
    assert.equal(status, 400);
    assert.equal(await listParts(session), 0);
  });

  test('a part sent with chunked transfer encoding is accepted', async () => {
    const session = await createSession(2048);
    const status = await putChunked(session.session_endpoints.upload_part ?? '', [bytes.subarray(0, 100), bytes.subarray(100)]);
    assert.equal(status, 200);
    assert.equal(await listParts(session), 1);
  });

  test('unknown and malformed session ids', async () => {
    await expectBoxError(await fetch(`${server.baseUrl}/files/upload_sessions/${'A'.repeat(32)}`, { headers: auth }), 404, 'not_found');
    await expectBoxError(await fetch(`${server.baseUrl}/files/upload_sessions/nope`, { headers: auth }), 400, 'invalid_upload_session_id');
  });

  test('bad JSON, a bad body, and an oversized body on create', async () => {
    const post = (body: string) =>
      fetch(`${server.baseUrl}/files/upload_sessions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    await expectBoxError(await post('{not json'), 400, 'bad_request');
    await expectBoxError(await post('[]'), 400, 'bad_request');
    await expectBoxError(await post(JSON.stringify({ folder_id: '0', file_name: 'x', file_size: 1, pad: 'x'.repeat(100_000) })), 413);
  });

  test('missing and wrong tokens get 401 and create nothing', async () => {
    const body = JSON.stringify({ folder_id: '0', file_name: 'nope.bin', file_size: 10 });
    await expectBoxError(await fetch(`${server.baseUrl}/files/upload_sessions`, { method: 'POST', body }), 401, 'unauthorized');
    await expectBoxError(
      await fetch(`${server.baseUrl}/files/upload_sessions`, { method: 'POST', headers: { authorization: 'Bearer other' }, body }),
      401,
      'unauthorized',
    );
    const recorded = server.traffic().filter((exchange) => exchange.status === 401);
    assert.ok(recorded.every((exchange) => !JSON.stringify(exchange).includes('other') || exchange.requestHeaders.authorization === 'Bearer <redacted>'));
    assert.ok(!JSON.stringify(server.traffic()).includes(TOKEN), 'the token never reaches the traffic record');
  });

  test('the auth scheme is case-insensitive (RFC 9110 §11.1), and the evidence keeps it as sent', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await fetch(`${server.baseUrl}/files/upload_sessions`, {
        method: 'POST',
        headers: { authorization: `${scheme} ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ folder_id: '0', file_name: `scheme-${scheme}.bin`, file_size: 10 }),
      });
      assert.equal(res.status, 201, scheme);
    }
    await expectBoxError(
      await fetch(`${server.baseUrl}/files/upload_sessions`, { method: 'POST', headers: { authorization: `Token ${TOKEN}` }, body: '{}' }),
      401,
    );
    await expectBoxError(await fetch(`${server.baseUrl}/files/upload_sessions`, { method: 'POST', headers: { authorization: TOKEN }, body: '{}' }), 401);
    const sent = server
      .traffic()
      .slice(-5)
      .map((exchange) => [exchange.auth, exchange.requestHeaders.authorization]);
    assert.deepEqual(sent, [
      ['valid', 'bearer <redacted>'],
      ['valid', 'BEARER <redacted>'],
      ['valid', 'bEaReR <redacted>'],
      ['malformed', 'Token <redacted>'],
      ['malformed', '<redacted>'],
    ]);
    assert.ok(!JSON.stringify(server.traffic()).includes(TOKEN));
  });
});

describe('sessions', () => {
  test('overlap with a stored part is 416 range_overlaps_existing_part and keeps the stored part', async () => {
    const session = await createSession(2048);
    const bytes = Buffer.alloc(1024, 1);
    const headers = { 'content-range': 'bytes 0-1023/2048', digest: digestHeaderFor(sha1Of(bytes)) };
    const first = (await (await putPart(session.session_endpoints.upload_part ?? '', bytes, headers)).json()) as { part: unknown };
    await expectBoxError(await putPart(session.session_endpoints.upload_part ?? '', bytes, headers), 416, 'range_overlaps_existing_part');
    const listed = (await (await fetch(session.session_endpoints.list_parts ?? '', { headers: auth })).json()) as { entries: unknown[] };
    assert.deepEqual(listed.entries, [first.part]);
  });

  test('commit checks coverage and the whole-file digest, then stores the file', async () => {
    const data = Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251));
    const session = await createSession(1500);
    const parts = [];
    for (const [lo, hi] of [
      [0, 1023],
      [1024, 1499],
    ] as const) {
      const bytes = data.subarray(lo, hi + 1);
      const res = await putPart(session.session_endpoints.upload_part ?? '', bytes, {
        'content-range': `bytes ${lo}-${hi}/1500`,
        digest: digestHeaderFor(sha1Of(bytes)),
      });
      parts.push(((await res.json()) as { part: unknown }).part);
    }
    const commit = (body: unknown, digest: string) =>
      fetch(session.session_endpoints.commit ?? '', {
        method: 'POST',
        headers: { ...auth, digest, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await expectBoxError(await commit({ parts: parts.slice(0, 1) }, digestHeaderFor(sha1Of(data))), 400, 'invalid_commit_parts');
    await expectBoxError(await commit({ parts }, digestHeaderFor(sha1Of('wrong'))), 400, 'digest_mismatch');
    const res = await commit({ parts }, digestHeaderFor(sha1Of(data)));
    assert.equal(res.status, 201);
    const file = ((await res.json()) as { entries: { id: string; size: number; sha1: string }[] }).entries[0];
    assert.equal(file?.size, 1500);
    assert.equal(file?.sha1, sha1Of(data).toString('hex'));
    const content = Buffer.from(await (await fetch(`${server.baseUrl}/files/${file?.id}/content`, { headers: auth })).arrayBuffer());
    assert.ok(content.equals(data));

    // A new version through POST /files/{id}/upload_sessions keeps the id, bumps the etag, replaces the content.
    const next = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7) % 256));
    const created = await fetch(`${server.baseUrl}/files/${file?.id}/upload_sessions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ file_size: 700 }),
    });
    assert.equal(created.status, 201);
    const version = (await created.json()) as { session_endpoints: Record<string, string> };
    const stored = await putPart(version.session_endpoints.upload_part ?? '', next, {
      'content-range': 'bytes 0-699/700',
      digest: digestHeaderFor(sha1Of(next)),
    });
    const part = ((await stored.json()) as { part: unknown }).part;
    const committed = await fetch(version.session_endpoints.commit ?? '', {
      method: 'POST',
      headers: { ...auth, digest: digestHeaderFor(sha1Of(next)), 'content-type': 'application/json' },
      body: JSON.stringify({ parts: [part] }),
    });
    assert.equal(committed.status, 201);
    const updated = ((await committed.json()) as { entries: { id: string; etag: string; size: number }[] }).entries[0];
    assert.deepEqual([updated?.id, updated?.etag, updated?.size], [file?.id, '1', 700]);
    const newContent = Buffer.from(await (await fetch(`${server.baseUrl}/files/${file?.id}/content`, { headers: auth })).arrayBuffer());
    assert.ok(newContent.equals(next));
    assert.equal((await fetch(`${server.baseUrl}/files/${file?.id}`, { method: 'DELETE', headers: auth })).status, 204);
    assert.equal(server.storedFile(file?.id ?? ''), undefined);
  });

  test('fault plans set over the control API fire once and say so', async () => {
    const plan = { instructions: [{ op: 'part', part: 1, attempt: 1, action: { kind: 'error', status: 503 } }] };
    const set = await fetch(`${server.origin}/_control/faults`, { method: 'PUT', body: JSON.stringify(plan) });
    assert.equal(set.status, 200);
    const session = await createSession(1024);
    const bytes = Buffer.alloc(1024, 3);
    const headers = { 'content-range': 'bytes 0-1023/1024', digest: digestHeaderFor(sha1Of(bytes)) };
    assert.equal((await putPart(session.session_endpoints.upload_part ?? '', bytes, headers)).status, 503);
    assert.equal((await putPart(session.session_endpoints.upload_part ?? '', bytes, headers)).status, 200);
    const report = (await (await fetch(`${server.origin}/_control/faults`)).json()) as { instructions: { fired: number }[] };
    assert.equal(report.instructions[0]?.fired, 1);
    const bad = await fetch(`${server.origin}/_control/faults`, {
      method: 'PUT',
      body: JSON.stringify({ instructions: [{ op: 'part', action: { kind: 'explode' } }] }),
    });
    await expectBoxError(bad, 400);
    await fetch(`${server.origin}/_control/faults`, { method: 'DELETE' });
  });

  test('abort answers 204 and the session is gone', async () => {
    const session = await createSession(10);
    assert.equal((await fetch(session.session_endpoints.abort ?? '', { method: 'DELETE', headers: auth })).status, 204);
    await expectBoxError(await fetch(session.session_endpoints.status ?? '', { headers: auth }), 404);
  });
});

describe('idle connections', () => {
  // A client that waits out a Retry-After and then reuses its connection must never race the server's idle close:
  // at 5 s (plus Node's 1 s buffer) the close met a 6 s Retry-After to the millisecond.
  test('stay open well beyond the longest Retry-After any client scenario sends', async () => {
    const features = await Promise.all(
      (await readdir('features/client')).filter((name) => name.endsWith('.feature')).map((name) => readFile(join('features/client', name), 'utf8')),
    );
    const longest = Math.max(...features.flatMap((text) => [...text.matchAll(/Retry-After (\d+)/gi)].map((match) => Number(match[1]))));
    assert.ok(longest >= 6, `the scenarios' longest Retry-After: ${longest}`);
    const server = await startSimulatedServer({ token: 't' });
    try {
      const answer = await fetch(`${server.origin}/`);
      await answer.arrayBuffer();
      const timeout = Number(/timeout=(\d+)/.exec(answer.headers.get('keep-alive') ?? '')?.[1]);
      assert.ok(timeout >= longest + 10, `keep-alive timeout=${timeout} s against a Retry-After of ${longest} s`);
    } finally {
      await server.close();
    }
  });
});
