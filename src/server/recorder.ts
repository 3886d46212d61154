import { type ContentRange, parseContentRange } from '../protocol/content-range.ts';
import { committedFileIdOf, errorCodeOf, fieldOf, partRecordOf, partsPageOf } from '../protocol/answers.ts';
import { type UploadPart, isUploadPart } from '../protocol/shapes.ts';
import type { FaultAction } from './faults.ts';
import { recentLoopLagMs } from './loop-lag.ts';

export type Operation =
  | 'create'
  | 'create-version'
  | 'part'
  | 'list'
  | 'status'
  | 'commit'
  | 'abort'
  | 'log'
  | 'file'
  /** Box's API around uploads: the preflight check, a folder's items, the single-request upload (refused). */
  | 'preflight'
  | 'folder'
  | 'upload'
  | 'control'
  | 'other';

/** How a request authenticated; the token itself is never kept. */
export type AuthClass = 'valid' | 'wrong-token' | 'missing' | 'malformed';

/** One request and its answer, as the simulated server saw them. Times are monotonic milliseconds. */
export interface Exchange {
  seq: number;
  op: Operation;
  sessionId?: string;
  method: string;
  /** Path and query; past RECORDED_URL_CHARS cut and marked with `...`. */
  url: string;
  /** Lower-case names; Authorization keeps only its scheme as sent: `Bearer <redacted>`, `bearer <redacted>`. */
  requestHeaders: Record<string, string>;
  auth: AuthClass;
  startMs: number;
  endMs: number;
  /** How long this process's event loop had been held up just before the request's handler ran (loop-lag.ts): `startMs` is late by up to this. */
  startLagMs?: number;
  /**
   * Length and SHA-1 of the bytes read; `truncated` when the server stopped reading a body longer than
   * allowed. `json`: the parsed body of a JSON request, kept only up to JSON_KEPT_BYTES (and never deeper
   * than MAX_JSON_DEPTH); otherwise `prefix`, its first 64 bytes as UTF-8.
   */
  requestBody: { length: number; sha1: string; json?: unknown; prefix?: string; truncated?: boolean };
  /** The request's Content-Range, parsed once as the exchange began; absent when missing or malformed. */
  range?: ContentRange;
  /** 0 when the connection closed with no answer. */
  status: number;
  /** The answer's headers, names as sent on the wire (Box sends `retry-after` in lower case); look one up with protocol/retry-after.ts's headerValue(). */
  responseHeaders: Record<string, string>;
  responseBody?: unknown;
  /** What the grader reads of `responseBody`, read once as the answer was recorded (recordAnswer). */
  answer?: AnswerReading;
  /** The server closed the connection on purpose (a drop fault). */
  dropped: boolean;
  /** The client went away before the exchange finished. */
  clientAborted: boolean;
  /** The injected fault that governed this request; `storedPart` when the server stored the part although it answered with the fault. */
  fault?: { description: string; action: FaultAction; storedPart?: UploadPart };
  /**
   * Refused by the HTTP parser before any handler ran: its reason, and the raw head (credentials
   * scrubbed) from which the method, URL and headers above were read as far as they could be.
   */
  parserRefused?: { reason: string; head: string };
  /** For parts: the part number (1-based) when the range starts on a part boundary, and its attempt. */
  partNumber?: number;
  attempt?: number;
}

/** The fields of an answer's body the grader reads, typed; each absent when the body has no such field of that shape. */
export interface AnswerReading {
  /** A Box error's `code`. */
  code?: string;
  /** A part answer's record: `{part: {part_id, offset, size, sha1}}`. */
  part?: UploadPart;
  /** The part records among `entries` (a list of parts). */
  listed?: UploadPart[];
  /** An overlap refusal's `context_info.conflicting_part`. */
  conflictingPart?: UploadPart;
  /** The `id` of `entries[0]` (a commit's file). */
  firstEntryId?: string;
}

export function readAnswer(body: unknown): AnswerReading {
  const reading: AnswerReading = {};
  const code = errorCodeOf(body);
  if (code !== undefined) reading.code = code;
  const part = partRecordOf(body);
  if (isUploadPart(part)) reading.part = part;
  const page = partsPageOf(body);
  if (page) reading.listed = page.entries.filter(isUploadPart);
  const firstEntryId = committedFileIdOf(body);
  if (firstEntryId !== undefined) reading.firstEntryId = firstEntryId;
  const conflicting = fieldOf(fieldOf(body, 'context_info'), 'conflicting_part');
  if (isUploadPart(conflicting)) reading.conflictingPart = conflicting;
  return reading;
}

/** Records the answer's body, and what the grader reads of it. */
export function recordAnswer(exchange: Exchange, body: unknown): void {
  exchange.responseBody = body;
  exchange.answer = readAnswer(body);
}

export const REDACTED_AUTHORIZATION = 'Bearer <redacted>';

/** Longest request URL the record keeps whole. */
export const RECORDED_URL_CHARS = 2048;
/**
 * Largest JSON body the record keeps parsed: the grader reads create and commit bodies. 2 MiB holds a
 * commit listing about 19,000 parts (Box's own limit is about 10,000).
 */
export const JSON_KEPT_BYTES = 2 * 1024 * 1024;
/** What an exchange is charged besides its strings: the objects around them (measured: 1.5 to 2 KiB). */
const EXCHANGE_OVERHEAD_BYTES = 2048;

/**
 * The first `max` characters of `text` (marked `...` when cut) as a string of its own: a plain slice
 * would keep the whole of `text` alive for as long as the record keeps the slice.
 */
export function detachedPrefix(text: string, max: number): string {
  if (text.length <= max) return text;
  return Buffer.from(`${text.slice(0, max)}...`, 'utf8').toString('utf8');
}

/** A body as the record keeps it: its JSON when small enough, else its first bytes. */
export function recordedBody(body: { length: number; sha1: string; prefix: Buffer; json?: unknown }, truncated = false): Exchange['requestBody'] {
  const kept: Exchange['requestBody'] = { length: body.length, sha1: body.sha1 };
  if (body.json !== undefined && body.length <= JSON_KEPT_BYTES) kept.json = body.json;
  else if (body.length > 0) kept.prefix = body.prefix.toString('utf8');
  if (truncated) kept.truncated = true;
  return kept;
}

/**
 * The exchanges of the traffic record, as a ring with a byte budget: each finished exchange is charged
 * an estimate of the memory it holds (its strings, its kept JSON and its answer, plus a fixed overhead),
 * and the oldest are forgotten to stay within the budget. Exchanges in flight are not in the ring.
 */
export class TrafficRecorder {
  readonly #budget: number;
  #ring: { exchange: Exchange; bytes: number }[] = [];
  #head = 0;
  #bytes = 0;
  #seq = 0;
  #evicted = 0;

  constructor(budgetBytes = Number.POSITIVE_INFINITY) {
    this.#budget = budgetBytes;
  }

  begin(init: Pick<Exchange, 'method' | 'url' | 'requestHeaders' | 'auth'>): Exchange {
    const url = init.url.length > RECORDED_URL_CHARS ? detachedPrefix(init.url, RECORDED_URL_CHARS) : init.url;
    const range = parseContentRange(init.requestHeaders['content-range']);
    return {
      seq: ++this.#seq,
      op: 'other',
      ...init,
      url,
      ...(range.ok ? { range: range.value } : {}),
      startMs: performance.now(),
      startLagMs: recentLoopLagMs(),
      endMs: Number.NaN,
      requestBody: { length: 0, sha1: '' },
      status: 0,
      responseHeaders: {},
      dropped: false,
      clientAborted: false,
    };
  }

  /** Puts a finished exchange in the record; `responseBytes` is the length of the answer's JSON. */
  finish(exchange: Exchange, responseBytes = 0): void {
    if (Number.isNaN(exchange.endMs)) exchange.endMs = performance.now();
    let bytes = EXCHANGE_OVERHEAD_BYTES + exchange.url.length + 2 * responseBytes;
    for (const [name, value] of Object.entries(exchange.requestHeaders)) bytes += name.length + value.length;
    for (const [name, value] of Object.entries(exchange.responseHeaders)) bytes += name.length + value.length;
    if (exchange.requestBody.json !== undefined) bytes += 2 * exchange.requestBody.length;
    this.#ring.push({ exchange, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.#budget && this.#ring.length - this.#head > 1) {
      const oldest = this.#ring[this.#head];
      this.#head += 1;
      this.#evicted += 1;
      this.#bytes -= oldest?.bytes ?? 0;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ring.length) {
      this.#ring = this.#ring.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Finished exchanges still in the record, in order of arrival. */
  exchanges(): Exchange[] {
    return this.#ring
      .slice(this.#head)
      .map((entry) => entry.exchange)
      .sort((a, b) => a.seq - b.seq);
  }

  /** How many exchanges were forgotten to keep within the budget since the last clear. */
  get evicted(): number {
    return this.#evicted;
  }

  /** The estimated bytes the record holds now. */
  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#ring = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#evicted = 0;
  }
}

/** A response header by name, whatever the case it was sent in. */
/** A credentials header with its secret replaced: the scheme as the client sent it, then `<redacted>`. */
export function redactCredentials(value: string): string {
  const scheme = /^\s*([A-Za-z][\w!#$%&'*+.^`|~-]*)\s+\S/.exec(value);
  return scheme ? `${scheme[1]} <redacted>` : '<redacted>';
}

export function redactHeaders(headers: NodeJS.Dict<string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = name === 'authorization' || name === 'proxy-authorization' ? redactCredentials(String(value)) : String(value);
  }
  return out;
}
