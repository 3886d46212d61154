import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { seededKeystream } from '../protocol/seeded-bytes.ts';

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
