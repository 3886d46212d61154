import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { contentRangeFor, parseContentRange } from '../src/protocol/content-range.ts';
import { digestHeaderFor, parseDigest, sha1Of } from '../src/protocol/digest.ts';
import { coverageOf, planParts, totalPartsFor } from '../src/protocol/parts.ts';
import { RULES } from '../src/protocol/rules.ts';
import { checkCreateSessionBody } from '../src/protocol/shapes.ts';
import { DEFAULT_RETRY_POLICY, PROBE_RETRY_POLICY, retryDelayFor } from '../src/http/retry.ts';
import { retryAfterMs } from '../src/protocol/retry-after.ts';
import { isTransientStatus } from '../src/protocol/transient.ts';
import { partRetryDelayFor } from '../src/uploader/part-retry.ts';

describe('planParts', () => {
  test('covers every byte exactly once, every part full but the last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e8 }), (fileSize, partSize) => {
        fc.pre(fileSize / partSize < 5000);
        const parts = planParts(fileSize, partSize);
        assert.equal(parts.length, totalPartsFor(fileSize, partSize));
        assert.deepEqual(coverageOf(parts, fileSize), { gaps: [], overlaps: [] });
        parts.forEach((part, index) => {
          assert.equal(part.offset % partSize, 0);
          if (index < parts.length - 1) assert.equal(part.size, partSize);
          else assert.ok(part.size >= 1 && part.size <= partSize);
        });
      }),
    );
  });

  test('edges: exact multiple, one byte over, a single short part', () => {
    assert.deepEqual(
      planParts(8, 4).map((p) => p.size),
      [4, 4],
    );
    assert.deepEqual(
      planParts(9, 4).map((p) => p.size),
      [4, 4, 1],
    );
    assert.deepEqual(
      planParts(3, 4).map((p) => p.size),
      [3],
    );
  });

  test('coverageOf finds gaps and double coverage', () => {
    assert.deepEqual(
      coverageOf(
        [
          { offset: 0, size: 4 },
          { offset: 8, size: 2 },
        ],
        10,
      ).gaps,
      [{ offset: 4, size: 4 }],
    );
    assert.deepEqual(
      coverageOf(
        [
          { offset: 0, size: 4 },
          { offset: 2, size: 8 },
        ],
        10,
      ).overlaps,
      [{ offset: 2, size: 2 }],
    );
  });
});

describe('Content-Range', () => {
  test('format and parse round-trip', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 30 }), fc.nat({ max: 2 ** 30 }), (lo, size, extra) => {
        const total = lo + size + extra;
        const parsed = parseContentRange(contentRangeFor(lo, size, total));
        assert.deepEqual(parsed, { ok: true, value: { lo, hi: lo + size - 1, total } });
      }),
    );
  });

  test('the guide example parses', () => {
    assert.deepEqual(parseContentRange('bytes 8388608-16777215/32127641'), { ok: true, value: { lo: 8388608, hi: 16777215, total: 32127641 } });
  });

  for (const bad of [
    undefined,
    '',
    'bytes 0-9',
    '0-9/10',
    'bytes=0-9/10',
    'bytes 0-9/*',
    'bytes  0-9/10',
    'bytes 00-9/10',
    'bytes 9-0/10',
    'bytes 0-10/10',
    'bytes -1-9/10',
    'bytes 0-9/10 ',
    'bytes 0x0-9/10',
    'bytes 0-99999999999999999999/1e30',
  ]) {
    test(`rejects ${JSON.stringify(bad)}`, () => assert.equal(parseContentRange(bad).ok, false));
  }

  test('rejects any string that is not the canonical form of its numbers', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const parsed = parseContentRange(text);
        if (parsed.ok)
          assert.equal(text.toLowerCase(), contentRangeFor(parsed.value.lo, parsed.value.hi - parsed.value.lo + 1, parsed.value.total).toLowerCase());
      }),
    );
  });
});

describe('Digest', () => {
  test('sha= base64 of the SHA-1, as openssl sha1 -binary | base64', () => {
    assert.equal(digestHeaderFor(sha1Of('abc')), 'sha=qZk+NkcGgWq6PiVxeFDCbJzQ2J0=');
  });
  test('parses the algorithm case-insensitively, beside other digests', () => {
    const expected = sha1Of('abc');
    for (const header of ['sha=qZk+NkcGgWq6PiVxeFDCbJzQ2J0=', 'SHA=qZk+NkcGgWq6PiVxeFDCbJzQ2J0=', 'md5=xyz, sha=qZk+NkcGgWq6PiVxeFDCbJzQ2J0=']) {
      const parsed = parseDigest(header);
      assert.ok(parsed.ok && parsed.value.equals(expected), header);
    }
  });
  test('rejects hex, missing, truncated and non-sha digests with a reason', () => {
    for (const header of [undefined, '', `sha=${sha1Of('abc').toString('hex')}`, 'sha=qZk+NkcGgWq6PiVxeFDCbJzQ2J0', 'sha-256=qZk+NkcGgWq6PiVxeFDCbJzQ2J0=']) {
      const parsed = parseDigest(header);
      assert.equal(parsed.ok, false, String(header));
    }
    const hex = parseDigest(`sha=${sha1Of('abc').toString('hex')}`);
    assert.ok(!hex.ok && /hex/.test(hex.reason));
  });
});

describe('create-session body', () => {
  test('accepts the documented body and names each missing or invalid field', () => {
    assert.ok(checkCreateSessionBody({ folder_id: '0', file_name: 'a.bin', file_size: 25_000_000 }, 20_000_000).ok);
    const codes = [
      [{ file_name: 'a', file_size: 1 }, 'missing_destination'],
      [{ folder_id: 0, file_name: 'a', file_size: 1 }, 'invalid_folder_id'],
      [{ folder_id: '0', file_size: 1 }, 'missing_file_name'],
      [{ folder_id: '0', file_name: 'a/b', file_size: 1 }, 'item_name_invalid'],
      [{ folder_id: '0', file_name: 'a' }, 'missing_file_size'],
      [{ folder_id: '0', file_name: 'a', file_size: '1' }, 'invalid_file_size'],
      [{ folder_id: '0', file_name: 'a', file_size: 10 }, 'file_size_too_small'],
    ] as const;
    for (const [body, code] of codes) {
      const checked = checkCreateSessionBody(body, 20);
      assert.ok(!checked.ok && checked.code === code && checked.status === 400, code);
    }
  });
});

describe('retry policy', () => {
  test('retries transient failures, honours Retry-After, resends refused overlaps at once, gives up on the rest', () => {
    const policy = DEFAULT_RETRY_POLICY;
    assert.equal(retryDelayFor({ kind: 'status', status: 503 }, 1, policy), 100);
    assert.equal(retryDelayFor({ kind: 'status', status: 503 }, 3, policy), 400);
    assert.equal(retryDelayFor({ kind: 'status', status: 429, retryAfterMs: 2000 }, 1, policy), 2000);
    assert.equal(retryDelayFor({ kind: 'network', message: 'ECONNRESET' }, 1, policy), 100);
    assert.equal(partRetryDelayFor({ kind: 'status', status: 416, code: 'range_overlaps_existing_part' }, 1, policy), 0);
    assert.equal(partRetryDelayFor({ kind: 'status', status: 503 }, 1, policy), 100);
    assert.equal(retryDelayFor({ kind: 'status', status: 400, code: 'bad_digest' }, 1, policy), undefined);
    assert.equal(retryDelayFor({ kind: 'status', status: 503 }, policy.maxAttempts, policy), undefined);
  });

  test("the probe's limits: 429s as long as the budget lasts, documented 5xx twice more, Retry-After on both, no answer final", () => {
    const policy = PROBE_RETRY_POLICY;
    assert.equal(retryDelayFor({ kind: 'status', status: 429 }, 40, policy), 30_000);
    assert.equal(retryDelayFor({ kind: 'status', status: 503, retryAfterMs: 0 }, 1, policy), 200);
    assert.equal(retryDelayFor({ kind: 'status', status: 502 }, 2, policy), 2_000);
    assert.equal(retryDelayFor({ kind: 'status', status: 502 }, 3, policy), undefined);
    assert.equal(retryDelayFor({ kind: 'status', status: 507 }, 1, policy), undefined);
    assert.equal(retryDelayFor({ kind: 'network', message: 'ECONNRESET' }, 1, policy), undefined);
  });

  test('transient answers: any 5xx and 429 for a client, the documented ones for the probe', () => {
    assert.deepEqual(
      [429, 500, 501, 503, 507, 416].map((status) => isTransientStatus(status)),
      [true, true, true, true, true, false],
    );
    assert.deepEqual(
      [429, 500, 501, 503, 507, 416].map((status) => isTransientStatus(status, 'documented')),
      [true, true, false, true, false, false],
    );
  });

  test('Retry-After as Box sends it: seconds, any header case, or an HTTP date', () => {
    const now = Date.parse('Fri, 04 Dec 2026 22:00:00 GMT');
    assert.equal(retryAfterMs({ 'retry-after': '5' }, now), 5000);
    assert.equal(retryAfterMs({ 'Retry-After': ' 2 ' }, now), 2000);
    assert.equal(retryAfterMs({ 'retry-after': ['3', '9'] }, now), 3000);
    assert.equal(retryAfterMs({ 'retry-after': 'Fri, 04 Dec 2026 22:00:07 GMT' }, now), 7000);
    assert.equal(retryAfterMs({ 'retry-after': 'Fri, 04 Dec 2026 21:00:00 GMT' }, now), 0);
    assert.equal(retryAfterMs({ 'retry-after': '1.5' }, now), undefined);
    assert.equal(retryAfterMs({}, now), undefined);
  });
});

describe('rule catalogue', () => {
  test('ids are unique and every rule has a level, a side and a guide link', () => {
    assert.equal(new Set(RULES.map((rule) => rule.id)).size, RULES.length);
    for (const rule of RULES) {
      assert.match(rule.id, rule.side === 'client' ? /^C-/ : /^S-/);
      assert.ok(['MUST', 'SHOULD'].includes(rule.level));
      assert.match(rule.guide.url, /^https:\/\/developer\.box\.com\//);
      assert.ok(rule.guide.says.length > 20);
    }
  });
});
