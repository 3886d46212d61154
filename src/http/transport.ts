import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, getGlobalDispatcher, request } from './undici.ts';
import { FeedOrder } from './feed-order.ts';
import { errorCodeOf, errorMessageOf } from '../protocol/answers.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * A request body that is a range of an open file, read from disk as it is sent (again on every attempt)
 * and never held whole. `sha1` is the range's SHA-1, known beforehand (what a recording keeps of it).
 */
export interface FileRangeBody {
  kind: 'file-range';
  file: FileHandle;
  offset: number;
  length: number;
  sha1: Buffer;
}

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array | string | FileRangeBody;
  /** Hash a 2xx answer's body instead of keeping it (downloads): the answer then has `content` and an empty `text`. */
  hashResponseBody?: boolean;
}

export function isFileRange(body: HttpRequest['body']): body is FileRangeBody {
  return typeof body === 'object' && 'kind' in body && body.kind === 'file-range';
}

/**
 * Chunks a file-range body is read in (two per body being sent): 1 MiB took 8 % less of the uploader's CPU
 * than 256 KiB (fewer reads, writes and turns of the loop), for about 7 MB more at its peak.
 */
const FILE_RANGE_CHUNK = 1024 * 1024;

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
  /** The body as received (for evidence, and for bodies that are not JSON). */
  text: string;
  /** Length and hex SHA-1 of the body, when the request asked for them (`hashResponseBody`). */
  content?: { length: number; sha1: string };
}

/** One HTTP exchange; a network failure comes back as `{ok: false}` instead of a throw. */
export type SendResult = { ok: true; response: JsonResponse } | { ok: false; failure: string };

/**
 * How the kit's HTTP clients (the reference uploader, the server probes) reach a server. One narrow
 * interface so that a run can be recorded, or replayed offline, without the callers knowing.
 */
export interface Transport {
  send(request: HttpRequest): Promise<SendResult>;
  close(): Promise<void>;
}

export interface UndiciTransportOptions {
  /** Connections per origin (default 8). */
  connections?: number;
  /** Headers and body timeout per request (default 120 s). */
  timeoutMs?: number;
  /** Send through the global dispatcher instead of an own connection pool (what replay with nock needs). */
  useGlobalDispatcher?: boolean;
}

export function undiciTransport(options: UndiciTransportOptions = {}): Transport {
  const timeout = options.timeoutMs ?? 120_000;
  const own = options.useGlobalDispatcher
    ? undefined
    : new Agent({ connections: options.connections ?? 8, headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 10_000 });
  const chunkBuffers = new ChunkBuffers(2 * (options.connections ?? 8));
  const feedOrder = new FeedOrder();
  return {
    async send({ method, url, headers, body, hashResponseBody }) {
      const dispatcher: Dispatcher = own ?? getGlobalDispatcher();
      try {
        const res = isFileRange(body)
          ? await request(url, {
              method,
              headers: { ...headers, 'content-length': String(body.length) },
              body: fileRangeChunks(body, chunkBuffers, feedOrder) as unknown as Readable,
              dispatcher,
            })
          : await request(url, { method, headers, body, dispatcher });
        // Only a success is a download; an error answer is kept as text, to be read and judged.
        if (hashResponseBody && res.statusCode >= 200 && res.statusCode < 300) {
          const hash = createHash('sha1');
          let length = 0;
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            hash.update(chunk);
            length += chunk.length;
          }
          return {
            ok: true,
            response: { status: res.statusCode, headers: res.headers, body: undefined, text: '', content: { length, sha1: hash.digest('hex') } },
          };
        }
        const text = await res.body.text();
        return { ok: true, response: { status: res.statusCode, headers: res.headers, body: parseJson(text), text } };
      } catch (error) {
        return { ok: false, failure: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      }
    },
    close: async () => {
      await own?.close();
    },
  };
}

/** Spare chunk buffers for file-range bodies, kept for the next body: garbage buffers would sit in memory until a collection. */
class ChunkBuffers {
  readonly #free: Buffer[] = [];
  readonly #keep: number;
  constructor(keep: number) {
    this.#keep = keep;
  }
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(FILE_RANGE_CHUNK);
  }
  give(buffer: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(buffer);
  }
}

/**
 * The bytes of a file-range body, read as undici asks for them, into two buffers used in turn; the file
 * stays open (the caller owns it). A buffer is read into again only after undici asked for the chunk
 * after it, and undici asks for a chunk only once the socket took the one before (its write() returned
 * true, or 'drain' came; undici 7 writes each chunk corked, so it is always 'drain': flushed to the
 * kernel). Bodies sent at once take turns as `order` says (earliest in the file first, see FeedOrder).
 * The buffers go back to the pool when the body is done or abandoned, never while a read is under way.
 */
async function* fileRangeChunks(body: FileRangeBody, pool: ChunkBuffers, order: FeedOrder): AsyncGenerator<Buffer> {
  const end = body.offset + body.length;
  const buffers = [pool.take(), pool.take()];
  const feeder = order.join(body.offset);
  try {
    for (let offset = body.offset, turn = 0; offset < end; turn = 1 - turn) {
      const buffer = buffers[turn] as Buffer;
      if (offset > body.offset) await order.turn(feeder);
      else order.take(feeder);
      const { bytesRead } = await body.file.read(buffer, 0, Math.min(buffer.length, end - offset), offset);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${offset}, inside the range being sent`);
      offset += bytesRead;
      order.release(feeder);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    order.release(feeder);
    for (const buffer of buffers) pool.give(buffer);
  }
}

export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** "HTTP 400 bad_digest: message", or the start of the body when it is not JSON. */
export function describeResponse(response: JsonResponse): string {
  const errorCode = errorCodeOf(response.body);
  const message = errorMessageOf(response.body);
  const code = errorCode === undefined ? '' : ` ${errorCode}`;
  const text = response.body === undefined && response.text ? `: ${response.text.slice(0, 200)}` : message === undefined ? '' : `: ${message}`;
  return `HTTP ${response.status}${code}${text}`;
}
