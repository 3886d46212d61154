import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type FileHandle, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FileRangeBody, undiciTransport } from '../src/http/transport.ts';
import { sha1Of } from '../src/protocol/digest.ts';
import { describeRequest } from '../src/record/recording.ts';
import { HoldingReader, type PartReader, RereadingReader } from '../src/uploader/digests.ts';

const PART = 3000;
// 3 whole parts and a short last one; parts are no multiple of the reading chunk.
const bytes = Buffer.from(Array.from({ length: 3 * PART + 123 }, (_, i) => (i * 7 + (i >> 8)) % 256));
const partBytes = (index: number) => bytes.subarray(index * PART, Math.min(bytes.length, (index + 1) * PART));

let dir: string;
let path: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uploader-reader-'));
  path = join(dir, 'source.bin');
  await writeFile(path, bytes);
});
after(() => rm(dir, { recursive: true, force: true }));

async function readAll(reader: PartReader, check: (index: number, body: unknown) => void) {
  for (let index = 0; ; index++) {
    if (index < reader.totalParts) assert.throws(() => reader.wholeFile(), /every part/);
    const ready = await reader.nextPart();
    if (!ready) return index;
    assert.deepEqual(ready.part, { index, offset: index * PART, size: partBytes(index).length });
    assert.deepEqual(ready.sha1, sha1Of(partBytes(index)));
    check(index, ready.body);
    ready.release();
  }
}

describe('the uploader reads each part once for its digests', () => {
  const cases: [string, (file: FileHandle) => PartReader, (file: FileHandle, index: number) => unknown][] = [
    [
      're-reading: part and whole-file SHA-1 from one pass in 1 KiB chunks, each body a range of the file',
      (file) => new RereadingReader(file, bytes.length, PART, 1024),
      (file, index) => ({ kind: 'file-range', file, offset: index * PART, length: partBytes(index).length, sha1: sha1Of(partBytes(index)) }),
    ],
    [
      'holding: each body is the part itself, in one of the reader buffers',
      (file) => new HoldingReader(file, bytes.length, PART, 2),
      (_, index) => partBytes(index),
    ],
  ];
  for (const [name, readerOf, expectedBody] of cases) {
    test(name, async () => {
      const file = await open(path, 'r');
      try {
        const reader = readerOf(file);
        assert.equal(await readAll(reader, (index, body) => assert.deepEqual(body, expectedBody(file, index))), 4);
        assert.deepEqual(reader.wholeFile(), sha1Of(bytes));
      } finally {
        await file.close();
      }
    });
  }

  test('a file shorter than it was said to be fails the read', async () => {
    const file = await open(path, 'r');
    try {
      const reader = new RereadingReader(file, bytes.length + 10, PART, 1024);
      for (let index = 0; index < 3; index++) await reader.nextPart();
      await assert.rejects(reader.nextPart(), /shrank while it was read \(part 4\)/);
    } finally {
      await file.close();
    }
  });
});

describe('file-range bodies', () => {
  test('sent through undici: the bytes of the range with their Content-Length, also for many at once from one file', async () => {
    const big = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 13 + (i >> 12)) % 256));
    const bigPath = join(dir, 'big.bin');
    await writeFile(bigPath, big);
    const seen: { length: string | undefined; sha1: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      const hash = createHash('sha1');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => {
        const sha1 = hash.digest('hex');
        seen.push({ length: req.headers['content-length'], sha1 });
        res.end(JSON.stringify({ sha1 }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const transport = undiciTransport({ connections: 3 });
    const file = await open(bigPath, 'r');
    try {
      // Ranges of odd sizes and offsets, 8 at a time over 3 connections: the chunk buffers go round.
      const ranges = Array.from({ length: 16 }, (_, i) => ({ offset: i * 250_001, length: 300_007 + i * 1_000 }));
      const results = await Promise.all(
        ranges.map(async ({ offset, length }) => {
          const body: FileRangeBody = { kind: 'file-range', file, offset, length, sha1: sha1Of(big.subarray(offset, offset + length)) };
          const result = await transport.send({ method: 'PUT', url, headers: {}, body });
          assert.ok(result.ok, result.ok ? '' : result.failure);
          return { answered: (result.response.body as { sha1: string }).sha1, expected: body.sha1.toString('hex'), length };
        }),
      );
      for (const { answered, expected } of results) assert.equal(answered, expected);
      assert.deepEqual(seen.map((entry) => entry.length).sort(), ranges.map((range) => String(range.length)).sort());
    } finally {
      await file.close();
      await transport.close();
      server.close();
    }
  });

  test('a recording keeps a file range as its length and SHA-1, without reading it', async () => {
    const sha1 = sha1Of(partBytes(1));
    const file = await open(path, 'r');
    await file.close();
    const body: FileRangeBody = { kind: 'file-range', file, offset: PART, length: PART, sha1 };
    const described = describeRequest({ method: 'PUT', url: 'http://127.0.0.1:1/x', headers: {}, body }, 'token', ['token']);
    assert.deepEqual(described.body, { length: PART, sha1: sha1.toString('hex') });
  });
});
