import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { judgeRun } from '../src/grader/client-checks.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';
import { headerValue } from '../src/protocol/retry-after.ts';
import { parseRefusedHead } from '../src/server/refused-head.ts';
import { rawRequest } from './support/raw-http.ts';

const TOKEN = 'refused-head-secret-token';

describe('a request the HTTP parser refuses is recorded and judged like any other', () => {
  let server: SimulatedServer;
  before(async () => {
    server = await startSimulatedServer({ token: TOKEN, partSize: 1024, minFileSize: 1 });
  });
  after(() => server.close());

  test('a part whose Digest value holds a bare CR: answered 400 in Box error JSON, in the record with its head (token scrubbed) and the reason', async () => {
    const created = await fetch(`${server.baseUrl}/files/upload_sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_name: 'cr.bin', file_size: 10 }),
    });
    const session = (await created.json()) as { id: string };
    const path = `/api/2.0/files/upload_sessions/${session.id}`;
    const head = `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nDigest: sha=AAAAAAAAAAAAAA\rAAAAAAAAAAAAAA=\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\n\r\n`;
    const { response } = await rawRequest(server.port, Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from('0123456789')]));
    assert.equal(response?.status, 400);
    const body = JSON.parse(response?.body.toString() ?? '{}') as { type?: string; code?: string };
    assert.equal(body.type, 'error');
    assert.equal(body.code, 'bad_request');

    const refused = server.traffic().find((exchange) => exchange.parserRefused !== undefined);
    assert.ok(refused, 'the refused request is not in the traffic record');
    assert.equal(refused.op, 'part');
    assert.equal(refused.method, 'PUT');
    assert.equal(refused.sessionId, session.id);
    assert.equal(refused.auth, 'valid');
    assert.equal(refused.status, 400);
    assert.equal(refused.requestHeaders.digest, 'sha=AAAAAAAAAAAAAA\rAAAAAAAAAAAAAA=');
    assert.equal(refused.requestHeaders.authorization, 'Bearer <redacted>');
    assert.match(refused.parserRefused?.reason ?? '', /HPE_/);
    assert.match(refused.parserRefused?.head ?? '', /^PUT \/api\/2\.0\/files\/upload_sessions\/\w+ HTTP\/1\.1\r\n/);
    assert.ok(!JSON.stringify(server.traffic()).includes(TOKEN), 'the token reached the record');
    assert.equal(headerValue(refused.responseHeaders, 'Box-Request-Id'), refused.responseHeaders['box-request-id']);

    const judgement = judgeRun(
      {
        fileSize: 10,
        fileSha1: '',
        fileName: 'cr.bin',
        folderId: '0',
        partSize: 1024,
        traffic: server.traffic(),
        faults: [],
        exit: { code: 1, timedOut: false },
      },
      'cr',
    );
    const failed = Object.entries(judgement.verdicts).filter(([, verdict]) => verdict.status === 'failed');
    assert.deepEqual(
      failed.map(([id]) => id),
      ['C-DIGEST'],
      JSON.stringify(failed),
    );
    assert.equal(judgement.verdicts['C-COVERAGE'].status, 'blocked');
  });

  test('the head is read from the packet up to its blank line; credentials never kept', () => {
    const packet = Buffer.from(
      'PUT /a HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST /api/2.0/files/upload_sessions HTTP/1.1\r\nauthorization: bearer s3cret\r\nX-A: 1\nbroken\r\n\r\nbody',
      'latin1',
    );
    const head = parseRefusedHead(packet, packet.indexOf('broken'));
    assert.equal(head.method, 'POST');
    assert.equal(head.url, '/api/2.0/files/upload_sessions');
    assert.deepEqual(head.headers, { authorization: 'bearer s3cret', 'x-a': '1' });
    assert.equal(head.raw, 'POST /api/2.0/files/upload_sessions HTTP/1.1\r\nauthorization: bearer <redacted>\r\nX-A: 1\nbroken');
  });

  test('response headers are recorded with their names as sent (retry-after in lower case, as Box sends it)', async () => {
    server.setFaultPlan({ instructions: [{ op: 'create', attempt: 1, action: { kind: 'rate-limit', retryAfter: 6 } }] });
    const answer = await fetch(`${server.baseUrl}/files/upload_sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_name: 'r.bin', file_size: 10 }),
    });
    await answer.text();
    assert.equal(answer.status, 429);
    const limited = server.traffic().find((exchange) => exchange.status === 429);
    assert.equal(limited?.responseHeaders['retry-after'], '6');
    assert.equal(limited?.responseHeaders['Retry-After'], undefined);
    server.setFaultPlan({ instructions: [{ op: 'create', attempt: 1, action: { kind: 'rate-limit', retryAfter: 6, headerName: 'Retry-After' } }] });
    await (
      await fetch(`${server.baseUrl}/files/upload_sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ folder_id: '0', file_name: 'r2.bin', file_size: 10 }),
      })
    ).text();
    const named = server
      .traffic()
      .filter((exchange) => exchange.status === 429)
      .at(-1);
    assert.equal(named?.responseHeaders['Retry-After'], '6');
    assert.equal(headerValue(named?.responseHeaders ?? {}, 'retry-after'), '6');
  });
});
