import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { seededBytes } from '../src/protocol/seeded-bytes.ts';
import { writeSeededFile } from '../src/kit/source-file.ts';
import { describeRequest, scrub } from '../src/record/recording.ts';

describe('seeded bytes', () => {
  test('any slice equals the same bytes of the seeded file, whatever its alignment', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'seeded-')), 'file.bin');
    await writeSeededFile(path, 3_000_017, 'seed');
    const file = await readFile(path);
    for (const [offset, length] of [
      [0, 10],
      [1, 33],
      [15, 17],
      [16, 100],
      [1_048_577, 5000],
      [2_999_000, 1017],
    ] as const) {
      assert.ok(seededBytes('seed', offset, length).equals(file.subarray(offset, offset + length)), `${offset}+${length}`);
    }
    assert.ok(!seededBytes('other seed', 0, 64).equals(file.subarray(0, 64)));
  });
});

describe('recorded requests', () => {
  const token = 'tok-12345678';
  test('keep the identifying headers and the kind of credentials, never the token', () => {
    const described = describeRequest(
      {
        method: 'PUT',
        url: `http://127.0.0.1:1/api/2.0/files/upload_sessions/ABC?access_token=${token}`,
        headers: { Authorization: `Bearer ${token}`, 'Content-Range': 'bytes 0-3/4', digest: 'sha=x', 'user-agent': 'kit' },
        body: Buffer.from('abcd'),
      },
      token,
      [token],
    );
    assert.deepEqual(described.headers, { 'content-range': 'bytes 0-3/4', digest: 'sha=x', authorization: '[token]' });
    assert.equal(described.url.includes(token), false);
    assert.deepEqual(described.body, { length: 4, sha1: '81fe8bfe87576c3ecb22426f8e57847382917acf' });
    const wrong = describeRequest({ method: 'GET', url: 'http://127.0.0.1:1/', headers: { authorization: 'Bearer nope' } }, token, [token]);
    assert.equal(wrong.headers.authorization, '[wrong token]');
    const none = describeRequest({ method: 'GET', url: 'http://127.0.0.1:1/', headers: {} }, token, [token]);
    assert.equal(none.headers.authorization, undefined);
  });

  test('JSON bodies are kept as JSON, scrubbed', () => {
    const described = describeRequest(
      { method: 'POST', url: 'http://127.0.0.1:1/', headers: {}, body: JSON.stringify({ note: `token ${token}`, parts: [] }) },
      token,
      [token],
    );
    assert.deepEqual(described.body.json, { note: 'token [redacted]', parts: [] });
    assert.equal(scrub(`a${token}b${token}`, [token]), 'a[redacted]b[redacted]');
  });
});

describe('replay: a recorded body matches however nock hands it over', () => {
  const recordedBytes = (bytes: Buffer) => ({ length: bytes.length, sha1: createHash('sha1').update(bytes).digest('hex') });
  test('a one-byte part that reads as JSON, as text ("7") or as hex (0x92 -> "92"), still matches its bytes, and only them', async () => {
    const { bodyMatches } = await import('../src/record/replay.ts');
    assert.equal(bodyMatches(7, recordedBytes(Buffer.from('7'))), true);
    assert.equal(bodyMatches(92, recordedBytes(Buffer.from([0x92]))), true);
    assert.equal(bodyMatches(92, recordedBytes(Buffer.from([0x93]))), false);
    assert.equal(bodyMatches('92', recordedBytes(Buffer.from([0x92]))), true);
    assert.equal(bodyMatches({ parts: [] }, { ...recordedBytes(Buffer.from('{"parts":[]}')), json: { parts: [] } }), true);
  });
});
