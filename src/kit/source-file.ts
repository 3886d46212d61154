import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { seededBytes, seededKeystream } from '../protocol/seeded-bytes.ts';

const CHUNK = 1024 * 1024;

/** Writes `size` seeded bytes (protocol/seeded-bytes.ts), chunk by chunk, and returns the file's SHA-1. */
export async function writeSeededFile(path: string, size: number, seed: string): Promise<{ sha1: string }> {
  const cipher = seededKeystream(seed, 0);
  const zeros = Buffer.alloc(CHUNK);
  const hash = createHash('sha1');
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size;) {
      const length = Math.min(CHUNK, size - written);
      const bytes = cipher.update(zeros.subarray(0, length));
      hash.update(bytes);
      await handle.write(bytes, 0, bytes.length);
      written += length;
    }
  } finally {
    await handle.close();
  }
  return { sha1: hash.digest('hex') };
}

const GiB = 2 ** 30;
const WINDOW = 64 * 1024;

/**
 * Where a sparse source file holds data: 64 KiB of seeded bytes at its start, astride 2 GiB and 4 GiB
 * (where 32-bit offsets overflow: box-java-sdk#530, boxcli#102), and at its end; zeros (holes)
 * elsewhere. A client that puts any of these bytes at the wrong offset sends the wrong file.
 */
export function sparseDataSpans(size: number): { offset: number; size: number }[] {
  const windows = [0, 2 * GiB - WINDOW / 2, 4 * GiB - WINDOW / 2, size - WINDOW]
    .map((start) => ({ offset: Math.max(0, start), end: Math.min(size, Math.max(0, start) + WINDOW) }))
    .filter((window) => window.end > window.offset)
    .sort((a, b) => a.offset - b.offset);
  const spans: { offset: number; size: number }[] = [];
  for (const window of windows) {
    const last = spans.at(-1);
    if (last && window.offset <= last.offset + last.size) last.size = Math.max(last.size, window.end - last.offset);
    else spans.push({ offset: window.offset, size: window.end - window.offset });
  }
  return spans;
}

/**
 * Writes a sparse file of `size` bytes: the seeded bytes of `sparseDataSpans`, holes elsewhere, so a file
 * of several GiB takes a few hundred KiB of disk. Returns the file's SHA-1, computed without reading it back.
 */
export async function writeSparseFile(path: string, size: number, seed: string): Promise<{ sha1: string }> {
  const spans = sparseDataSpans(size);
  const handle = await open(path, 'w');
  try {
    for (const span of spans) await handle.write(seededBytes(seed, span.offset, span.size), 0, span.size, span.offset);
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
  const hash = createHash('sha1');
  const zeros = Buffer.alloc(CHUNK);
  let at = 0;
  for (const span of spans) {
    for (; at < span.offset; at += Math.min(CHUNK, span.offset - at)) hash.update(zeros.subarray(0, Math.min(CHUNK, span.offset - at)));
    hash.update(seededBytes(seed, span.offset, span.size));
    at = span.offset + span.size;
  }
  for (; at < size; at += Math.min(CHUNK, size - at)) hash.update(zeros.subarray(0, Math.min(CHUNK, size - at)));
  return { sha1: hash.digest('hex') };
}
