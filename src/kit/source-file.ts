import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

/**
 * Writes `size` pseudo-random bytes determined by `seed` (AES-128-CTR keystream), chunk by chunk, and
 * returns the file's SHA-1. The same seed and size always give the same bytes, so a recorded run's
 * requests can be matched again.
 */
export async function writeSeededFile(path: string, size: number, seed: string): Promise<{ sha1: string }> {
  const key = createHash('sha256').update(`key:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
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
