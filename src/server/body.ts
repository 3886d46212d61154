import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';

/** How many leading bytes of a body the traffic record keeps when it does not keep the body's JSON. */
export const BODY_PREFIX_BYTES = 64;
/** JSON nested deeper than this is refused (400) and never parsed: Box's bodies are 3 levels deep. */
export const MAX_JSON_DEPTH = 32;

export interface ReceivedBody {
  length: number;
  sha1: Buffer;
  /** The first bytes of the body (up to BODY_PREFIX_BYTES). */
  prefix: Buffer;
  /**
   * How reading ended: the whole body, more than `maxBytes`, `stopAfter` reached, the client went away,
   * or the sink failed (then `error` says why).
   */
  outcome: 'complete' | 'too-large' | 'stopped' | 'aborted' | 'sink-failed';
  error?: Error;
}

/**
 * Reads a request body chunk by chunk, hashing it and writing it to `sink` with backpressure; never holds
 * more than one chunk. Reading stops (without consuming the rest) past `maxBytes`, at `stopAfter`, or when
 * the sink fails.
 */
export function receiveBody(req: IncomingMessage, options: { maxBytes: number; sink?: Writable; stopAfter?: number }): Promise<ReceivedBody> {
  const hash = createHash('sha1');
  const prefix: Buffer[] = [];
  let prefixLength = 0;
  let length = 0;
  const { sink } = options;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: ReceivedBody['outcome'], error?: Error) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      sink?.off('error', onSinkError);
      if (outcome !== 'complete') req.pause();
      resolve({ length, sha1: hash.digest(), prefix: Buffer.concat(prefix), outcome, error });
    };
    const onSinkError = (error: Error) => finish('sink-failed', error);
    const onData = (chunk: Buffer) => {
      let piece = chunk;
      const stopAt = options.stopAfter;
      if (stopAt !== undefined && length + piece.length >= stopAt) piece = piece.subarray(0, stopAt - length);
      if (length + piece.length > options.maxBytes) return finish('too-large');
      hash.update(piece);
      if (prefixLength < BODY_PREFIX_BYTES) {
        const head = piece.subarray(0, BODY_PREFIX_BYTES - prefixLength);
        prefix.push(Buffer.from(head));
        prefixLength += head.length;
      }
      length += piece.length;
      if (sink && !sink.write(piece)) {
        req.pause();
        sink.once('drain', () => settled || req.resume());
      }
      if (stopAt !== undefined && length >= stopAt) finish('stopped');
    };
    // A sink that failed before the first byte (a file that could not be opened) ends reading at once.
    if (sink?.errored) return finish('sink-failed', sink.errored);
    sink?.once('error', onSinkError);
    req.on('data', onData);
    req.once('end', () => finish('complete'));
    req.once('aborted', () => finish('aborted'));
    req.once('error', () => finish('aborted'));
    req.once('close', () => finish(req.complete ? 'complete' : 'aborted'));
    // A body whose start was read and paused by an earlier reader (an oversized JSON body) flows again.
    req.resume();
  });
}

export interface ReceivedJson {
  /** 'too-deep': nested deeper than MAX_JSON_DEPTH, never parsed. */
  outcome: 'ok' | 'too-large' | 'aborted' | 'invalid' | 'too-deep';
  /** The parsed body when `outcome` is 'ok'; undefined for an empty body. */
  value?: unknown;
  length: number;
  sha1: string;
  prefix: Buffer;
}

/** How deeply `text` nests arrays and objects, counted without parsing it; stops counting past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return deepest;
}

/** Reads a small JSON body, up to `maxBytes`. `undefined` for an empty body. */
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
  const body = Buffer.concat(chunks);
  const prefix = Buffer.from(body.subarray(0, BODY_PREFIX_BYTES));
  if (result === 'too-large' || result === 'aborted') return { outcome: result, length, sha1, prefix };
  const text = body.toString('utf8');
  if (text.trim() === '') return { outcome: 'ok', value: undefined, length, sha1, prefix };
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { outcome: 'too-deep', length, sha1, prefix };
  try {
    return { outcome: 'ok', value: JSON.parse(text) as unknown, length, sha1, prefix };
  } catch {
    return { outcome: 'invalid', length, sha1, prefix };
  }
}
