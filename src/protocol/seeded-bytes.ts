import { createCipheriv, createHash } from 'node:crypto';

const BLOCK = 16;

/**
 * The AES-128-CTR keystream for `seed`, from byte `offset`: the bytes of a seeded file, reachable anywhere.
 * Feed it zeros; what comes out are the file's bytes.
 */
export function seededKeystream(seed: string, offset: number) {
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
 * (kit/source-file.ts) writes there. Lets the kit send any part of a file it never stored, and makes every
 * run with the same seed send the same requests (what replaying a recording needs).
 */
export function seededBytes(seed: string, offset: number, length: number): Buffer {
  return seededKeystream(seed, offset).update(Buffer.alloc(length));
}
