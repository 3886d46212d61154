import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { rangeSize } from '../protocol/content-range.ts';
import { rangeKey } from '../grader/client-checks.ts';
import { bodyFullyRead, partRequests, rangeOf } from '../grader/traffic.ts';
import type { Exchange } from '../server/recorder.ts';

const READ_BYTES = 1024 * 1024;

/**
 * The hex SHA-1 of the source file's bytes at every distinct range the client sent a whole body for
 * (one that has as many bytes as its range says, inside the file): what C-RANGE-FORMAT compares each
 * part body's SHA-1 with. Each range is read once, through one buffer, whatever the file's size.
 */
export async function rangeDigests(path: string, fileSize: number, traffic: readonly Exchange[]): Promise<Record<string, string>> {
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const part of partRequests(traffic)) {
    const range = rangeOf(part);
    if (!range || !bodyFullyRead(part) || part.requestBody.length !== rangeSize(range) || range.hi >= fileSize) continue;
    ranges.set(rangeKey(range.lo, range.hi), range);
  }
  const digests: Record<string, string> = {};
  if (ranges.size === 0) return digests;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (const [key, { lo, hi }] of ranges) {
      const hash = createHash('sha1');
      for (let at = lo; at <= hi;) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(READ_BYTES, hi + 1 - at), at);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        at += bytesRead;
      }
      digests[key] = hash.digest('hex');
    }
  } finally {
    await file.close();
  }
  return digests;
}
