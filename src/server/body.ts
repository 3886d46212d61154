import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';

export interface ReceivedBody {
  length: number;
  sha1: Buffer;
  /** How reading ended: the whole body, more than `maxBytes`, `stopAfter` reached, or the client went away. */
  outcome: 'complete' | 'too-large' | 'stopped' | 'aborted';
}

/**
 * Reads a request body chunk by chunk, hashing it and writing it to `sink` with backpressure; never holds
 * more than one chunk. Reading stops (without consuming the rest) past `maxBytes` or at `stopAfter`.
 */
export function receiveBody(req: IncomingMessage, options: { maxBytes: number; sink?: Writable; stopAfter?: number }): Promise<ReceivedBody> {
  const hash = createHash('sha1');
  let length = 0;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: ReceivedBody['outcome']) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      if (outcome !== 'complete') req.pause();
      resolve({ length, sha1: hash.digest(), outcome });
    };
    const onData = (chunk: Buffer) => {
      let piece = chunk;
      const stopAt = options.stopAfter;
      if (stopAt !== undefined && length + piece.length >= stopAt) piece = piece.subarray(0, stopAt - length);
      if (length + piece.length > options.maxBytes) return finish('too-large');
      hash.update(piece);
      length += piece.length;
      if (options.sink && !options.sink.write(piece)) {
        req.pause();
        options.sink.once('drain', () => settled || req.resume());
      }
      if (stopAt !== undefined && length >= stopAt) finish('stopped');
    };
    req.on('data', onData);
    req.once('end', () => finish('complete'));
    req.once('aborted', () => finish('aborted'));
    req.once('error', () => finish('aborted'));
    req.once('close', () => finish(req.complete ? 'complete' : 'aborted'));
  });
}

export interface ReceivedJson {
  outcome: 'ok' | 'too-large' | 'aborted' | 'invalid';
  /** The parsed body when `outcome` is 'ok'; undefined for an empty body. */
  value?: unknown;
  length: number;
  sha1: string;
}

/** Reads a small JSON body. `undefined` for an empty body. */
export async function receiveJson(req: IncomingMessage, maxBytes: number): Promise<ReceivedJson> {
  const chunks: Buffer[] = [];
  const hash = createHash('sha1');
  let length = 0;
  const result = await new Promise<ReceivedBody['outcome']>((resolve) => {
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        req.off('data', onData);
        req.pause();
        return resolve('too-large');
      }
      hash.update(chunk);
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve('complete'));
    req.once('error', () => resolve('aborted'));
    req.once('close', () => resolve(req.complete ? 'complete' : 'aborted'));
  });
  const sha1 = hash.digest('hex');
  if (result === 'too-large' || result === 'aborted') return { outcome: result, length, sha1 };
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { outcome: 'ok', value: undefined, length, sha1 };
  try {
    return { outcome: 'ok', value: JSON.parse(text) as unknown, length, sha1 };
  } catch {
    return { outcome: 'invalid', length, sha1 };
  }
}
