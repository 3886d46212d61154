import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonMismatch } from '../src/grader/json-expect.ts';
import { judgeServerExchanges } from '../src/grader/server-findings.ts';
import type { JsonResponse } from '../src/http/transport.ts';
import type { ExpectedPart, Expectation, ProbeExchange } from '../src/probe/exchange.ts';

const SHA1_A = 'a'.repeat(40);
const SHA1_B = 'b'.repeat(40);

function answer(status: number, body?: unknown, headers: Record<string, string> = {}): JsonResponse {
  return { status, headers, body, text: body === undefined ? '' : JSON.stringify(body) };
}
const error = (status: number, code: string) => answer(status, { type: 'error', status, code, message: 'm', request_id: 'r1' });

let next = 0;
function exchange(fields: Partial<ProbeExchange> & { expect: Expectation; response?: JsonResponse }): ProbeExchange {
  return {
    index: next++,
    request: `request ${next}`,
    method: 'GET',
    url: 'http://127.0.0.1:1/api/2.0/x',
    credentials: 'token',
    body: { length: 0, sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
    session: 'S1',
    sent: { headers: {} },
    ...fields,
  };
}
const putPart = (lo: number, size: number, sha1: string, response: JsonResponse, expect: Expectation = { kind: 'part' }) =>
  exchange({ method: 'PUT', range: { lo, hi: lo + size - 1, total: 30 }, body: { length: size, sha1 }, response, expect });
const stored: ExpectedPart[] = [{ offset: 0, size: 10, sha1: SHA1_A, partId: 'P1' }];
const judge = (exchanges: ProbeExchange[], divergedAt: Record<string, number> = {}) =>
  judgeServerExchanges({ run: 'the scenario', exchanges, divergedAt }).map((finding) => [finding.rule, finding.requests[0]]);

describe('every server answer judged', () => {
  test('a part answer with a wrong offset is S-PART-OK only: the listing is judged against the bytes sent', () => {
    next = 0;
    const exchanges = [
      putPart(0, 10, SHA1_A, answer(200, { part: { part_id: 'P1', offset: 1, size: 10, sha1: SHA1_A } })),
      exchange({
        expect: { kind: 'listing', parts: stored, query: {} },
        response: answer(200, { entries: [{ part_id: 'P1', offset: 0, size: 10, sha1: SHA1_A }], total_count: 1, limit: 100, offset: 0 }),
      }),
      exchange({
        expect: { kind: 'status', sessionId: 'S1', processed: 1 },
        response: answer(200, { type: 'upload_session', id: 'S1', num_parts_processed: 1 }),
      }),
    ];
    assert.deepEqual(judge(exchanges), [['S-PART-OK', 0]]);
  });

  test('a listing that misses a part, or a status that counts a refused one, is found where it is seen', () => {
    next = 0;
    const exchanges = [
      exchange({ expect: { kind: 'listing', parts: stored, query: {} }, response: answer(200, { entries: [], total_count: 1, limit: 100 }) }),
      exchange({
        expect: { kind: 'status', sessionId: 'S1', processed: 1 },
        response: answer(200, { type: 'upload_session', id: 'S1', num_parts_processed: 2 }),
      }),
    ];
    const findings = judgeServerExchanges({ run: 'r', exchanges, divergedAt: {} });
    assert.deepEqual(
      findings.map((finding) => finding.rule),
      ['S-LIST-PARTS', 'S-STATUS'],
    );
    assert.match(findings[0]?.message ?? '', /holds 0 part\(s\), 1 expected/);
    assert.match(findings[1]?.message ?? '', /counting at most the 1 part\(s\) stored: num_parts_processed is 2, expected 1$/);
  });

  test('a wrong listing, status or file entry is evidenced by every field that differs, with the value that came and the one expected', () => {
    next = 0;
    const exchanges = [
      exchange({
        expect: { kind: 'listing', parts: stored, query: {} },
        response: answer(200, { entries: [{ part_id: 'P9', offset: 0, size: 9, sha1: SHA1_A }], total_count: 1 }),
      }),
      exchange({
        expect: { kind: 'status', sessionId: 'S1', processed: 1 },
        response: answer(200, { type: 'upload_session', id: 'S2', num_parts_processed: '1' }),
      }),
      exchange({
        method: 'POST',
        expect: { kind: 'file', size: 30, sha1: SHA1_A },
        response: answer(201, { entries: [{ type: 'folder', id: '9', size: 30, sha1: SHA1_B }] }),
      }),
      exchange({ expect: { kind: 'any' }, response: answer(404, { type: 'error', status: '404', code: 'not_found', message: 'm', request_id: 'r' }) }),
    ];
    assert.deepEqual(
      judgeServerExchanges({ run: 'r', exchanges, divergedAt: {} }).map((finding) => finding.message),
      [
        'request 1: the part at offset 0 is listed unlike the part stored there (the bytes sent, the part_id answered): size is 9, expected 10; part_id is "P9", expected "P1"',
        'request 2: the status is not the upload_session S1 counting at most the 1 part(s) stored: id is "S2", expected "S1"; num_parts_processed is "1", expected 1',
        `request 3: the file entry is not that of the 30 bytes uploaded: entries[0].type is "folder", expected "file"; entries[0].sha1 is "${SHA1_B}", expected "${SHA1_A}"`,
        'request 4: the 404 answer is not Box\'s error JSON: status is "404", expected 404',
      ],
    );
  });

  test('a deep difference names its path, a missing or extra key as such, and at most six differences', () => {
    assert.equal(jsonMismatch('same', { a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }), undefined);
    assert.equal(
      jsonMismatch('its parts changed', { total_count: 2, parts: { 'offset 10': { size: 10 } } }, { total_count: 1, parts: {} }, 'was'),
      'its parts changed: total_count is 2, was 1; parts[offset 10] is {"size":10}, was missing',
    );
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, index) => [`k${index}`, index]));
    assert.match(jsonMismatch('eight', many, {}) ?? '', /^eight: k0 is 0, expected missing; .*k5 is 5, expected missing; and 2 more difference\(s\)$/);
  });

  test('a count still catching up with the parts stored is no finding: the server may be processing them', () => {
    next = 0;
    const status = (counted: number) =>
      exchange({
        expect: { kind: 'status', sessionId: 'S1', processed: 2 },
        response: answer(200, { type: 'upload_session', id: 'S1', num_parts_processed: counted }),
      });
    assert.deepEqual(judge([status(0), status(1), status(2)]), []);
    assert.deepEqual(judge([status(3)]), [['S-STATUS', 3]]);
  });

  test('a listing may repeat the sha1 the part answer gave; a different one is the listing’s fault', () => {
    next = 0;
    const answered: ExpectedPart[] = [{ offset: 0, size: 10, sha1: SHA1_A, partId: 'P1', answeredSha1: 'base64==' }];
    const page = (sha1: string) => answer(200, { entries: [{ part_id: 'P1', offset: 0, size: 10, sha1 }], total_count: 1 });
    assert.deepEqual(judge([exchange({ expect: { kind: 'listing', parts: answered, query: {} }, response: page('base64==') })]), []);
    assert.deepEqual(judge([exchange({ expect: { kind: 'listing', parts: answered, query: {} }, response: page(SHA1_B) })]), [['S-LIST-PARTS', 1]]);
  });

  test('a commit answer with a wrong size is S-COMMIT-OK; a refusal expected and not given is its own rule’s', () => {
    next = 0;
    const exchanges = [
      exchange({
        method: 'POST',
        expect: { kind: 'file', size: 30, sha1: SHA1_A },
        response: answer(201, { entries: [{ type: 'file', id: '9', size: 32, sha1: SHA1_A }] }),
      }),
      exchange({ method: 'POST', expect: { kind: 'refusal', rule: 'S-COMMIT-DIGEST-REJECT' }, response: answer(201, { entries: [] }) }),
      exchange({ method: 'DELETE', credentials: 'none', expect: { kind: 'refusal', rule: 'S-AUTH', status: 401 }, response: answer(204) }),
    ];
    assert.deepEqual(judge(exchanges), [
      ['S-COMMIT-OK', 0],
      ['S-COMMIT-DIGEST-REJECT', 1],
      ['S-AUTH', 2],
    ]);
  });

  test('every error answer is judged for its shape, wherever it is seen', () => {
    next = 0;
    const exchanges = [
      exchange({ method: 'POST', expect: { kind: 'refusal', rule: 'S-COMMIT-DIGEST-REJECT' }, response: answer(400, { error: 'File digest was incorrect' }) }),
      exchange({ expect: { kind: 'any' }, response: error(404, 'not_found') }),
    ];
    assert.deepEqual(judge(exchanges), [['S-ERROR-SHAPE', 0]]);
  });

  test('after a session diverged, its stateful answers are not judged; a 429 waited out is judged for its shape only', () => {
    next = 0;
    const exchanges = [
      putPart(0, 10, SHA1_A, answer(200, { part: { part_id: 'P2', offset: 0, size: 10, sha1: SHA1_A } }), { kind: 'refusal', rule: 'S-DIGEST-REJECT' }),
      exchange({
        expect: { kind: 'listing', parts: [], query: {} },
        response: answer(200, { entries: [{ part_id: 'P2', offset: 0, size: 10, sha1: SHA1_A }], total_count: 1 }),
      }),
      exchange({
        expect: { kind: 'status', sessionId: 'S1', processed: 0 },
        response: answer(200, { type: 'upload_session', id: 'S1', num_parts_processed: 1 }),
      }),
      exchange({ session: 'S2', expect: { kind: 'status', sessionId: 'S2', processed: 0 }, waitedOut: true, response: answer(429, { oops: true }) }),
    ];
    assert.deepEqual(judge(exchanges, { S1: 0 }), [
      ['S-DIGEST-REJECT', 0],
      ['S-ERROR-SHAPE', 3],
    ]);
    // Without the divergence, the listing and the status would be held against their rules.
    assert.deepEqual(
      judge(exchanges).map(([rule]) => rule),
      ['S-DIGEST-REJECT', 'S-LIST-PARTS', 'S-STATUS', 'S-ERROR-SHAPE'],
    );
  });

  test('a correct part refused, or a download of other bytes, is found; a server that serves no download is not', () => {
    next = 0;
    const exchanges = [
      putPart(10, 10, SHA1_B, error(500, 'internal_server_error')),
      exchange({ expect: { kind: 'content', size: 30, sha1: SHA1_A }, response: { ...answer(200), content: { length: 30, sha1: SHA1_B } } }),
      exchange({ expect: { kind: 'content', size: 30, sha1: SHA1_A }, response: error(404, 'not_found') }),
    ];
    assert.deepEqual(judge(exchanges), [
      ['S-PART-OK', 0],
      ['S-COMMIT-OK', 1],
    ]);
  });
});
