import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;
const BLOCK = 16;

/** The AES-128-CTR keystream for `seed`, from byte `offset`: the bytes of a seeded file, reachable anywhere. */
function keystreamFrom(seed: string, offset: number) {
  const key = createHash('sha256').update(`key:${seed}`).digest().subarray(0, 16);
  const counter = Buffer.alloc(BLOCK);
  counter.writeBigUInt64BE(BigInt(Math.floor(offset / BLOCK)), 8);
  const cipher = createCipheriv('aes-128-ctr', key, counter);
  const skip = offset % BLOCK;
  if (skip > 0) cipher.update(Buffer.alloc(skip));
  return cipher;
}

/**
 * `length` bytes of the seeded file for `seed`, starting at `offset`: the same bytes `writeSeededFile`
 * writes there. Lets the kit send any part of a file it never stored, and makes every run with the same
 * seed send the same requests (what replaying a recording needs).
 */
export function seededBytes(seed: string, offset: number, length: number): Buffer {
  return keystreamFrom(seed, offset).update(Buffer.alloc(length));
}

/** Writes `size` seeded bytes, chunk by chunk, and returns the file's SHA-1. */
export async function writeSeededFile(path: string, size: number, seed: string): Promise<{ sha1: string }> {
  const cipher = keystreamFrom(seed, 0);
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
