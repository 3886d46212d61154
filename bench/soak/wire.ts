// HTTP/1.1 as bytes on a socket: the soak sends what no well-behaved client library would (bad
// percent-encoding, bodies longer or shorter than their Content-Length, random bytes, dribbled requests)
// and reads the answer itself, with a deadline, so that a hang is counted instead of waited out.
import { type Socket, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WireAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** From the end of sending to the end of the answer. */
  latencyMs: number;
}

export type WireResult =
  | { kind: 'answer'; answer: WireAnswer }
  /** The server closed (or reset) the connection without a complete answer. */
  | { kind: 'closed'; afterMs: number; partial: number }
  | { kind: 'timeout' }
  /** No connection at all: the server is not listening (down, or out of descriptors). */
  | { kind: 'refused'; code: string };

export interface RequestSpec {
  method: string;
  /** Request target exactly as sent (not encoded here). */
  target: string;
  headers?: [string, string][];
  body?: Buffer;
  /** Content-Length sent (default: the body's length; null: none). */
  contentLength?: number | null;
}

/** The bytes of a request; headers are written as given (nothing checked, nothing encoded). */
export function requestBytes(spec: RequestSpec): Buffer {
  const lines = [`${spec.method} ${spec.target} HTTP/1.1`, 'host: 127.0.0.1'];
  for (const [name, value] of spec.headers ?? []) lines.push(`${name}: ${value}`);
  const length = spec.contentLength === undefined ? (spec.body && spec.body.length > 0 ? spec.body.length : undefined) : spec.contentLength;
  if (length !== undefined && length !== null) lines.push(`content-length: ${length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), spec.body ?? Buffer.alloc(0)]);
}

const NO_BODY_STATUS = (status: number) => status === 204 || status === 304 || (status >= 100 && status < 200);

/** A response parser over one connection's bytes. */
class ResponseReader {
  #buffer = Buffer.alloc(0);
  #offset = 0;
  /** Set for a HEAD request: its answer has headers only. */
  headOnly = false;

  push(chunk: Buffer): void {
    this.#buffer = this.#offset > 0 ? Buffer.concat([this.#buffer.subarray(this.#offset), chunk]) : Buffer.concat([this.#buffer, chunk]);
    this.#offset = 0;
  }

  get pending(): number {
    return this.#buffer.length - this.#offset;
  }

  /** The next complete answer (1xx skipped), or undefined; `closed` lets a body without a length end at EOF. */
  next(closed: boolean): Omit<WireAnswer, 'latencyMs'> | undefined {
    for (;;) {
      const data = this.#buffer.subarray(this.#offset);
      const headEnd = data.indexOf('\r\n\r\n');
      if (headEnd < 0) return undefined;
      const lines = data.subarray(0, headEnd).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const bodyStart = headEnd + 4;
      if (status >= 100 && status < 200) {
        this.#offset += bodyStart;
        continue;
      }
      if (Number.isNaN(status)) {
        // Not HTTP: hand back what there is as a pseudo-answer with status 0.
        this.#offset = this.#buffer.length;
        return { status: 0, headers: {}, body: Buffer.from(data) };
      }
      if (this.headOnly || NO_BODY_STATUS(status)) {
        this.#offset += bodyStart;
        return { status, headers, body: Buffer.alloc(0) };
      }
      if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (data.length - bodyStart < length) return undefined;
        this.#offset += bodyStart + length;
        return { status, headers, body: Buffer.from(data.subarray(bodyStart, bodyStart + length)) };
      }
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const pieces: Buffer[] = [];
        let at = bodyStart;
        for (;;) {
          const lineEnd = data.indexOf('\r\n', at);
          if (lineEnd < 0) return undefined;
          const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
          if (Number.isNaN(size)) return undefined;
          if (size === 0) {
            const trailerEnd = data.indexOf('\r\n\r\n', lineEnd);
            if (trailerEnd < 0 && data.length < lineEnd + 4) return undefined;
            this.#offset += trailerEnd < 0 ? lineEnd + 2 : trailerEnd + 4;
            return { status, headers, body: Buffer.concat(pieces) };
          }
          if (data.length < lineEnd + 2 + size + 2) return undefined;
          pieces.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
          at = lineEnd + 2 + size + 2;
        }
      }
      if (!closed) return undefined;
      this.#offset = this.#buffer.length;
      return { status, headers, body: Buffer.from(data.subarray(bodyStart)) };
    }
  }
}

/** One client connection, read continuously from the start. */
export class WireConnection {
  readonly #socket: Socket;
  readonly #reader = new ResponseReader();
  #closed = false;
  #wake: (() => void) | undefined;
  #sentAt = performance.now();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      this.#wake?.();
    });
    const onEnd = () => {
      this.#closed = true;
      this.#wake?.();
    };
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
  }

  static open(port: number, timeoutMs = 10_000): Promise<WireConnection | { refused: string }> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ refused: 'ETIMEDOUT' });
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new WireConnection(socket));
      });
      const onError = (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ refused: error.code ?? error.message });
      };
      socket.once('error', onError);
    });
  }

  get closed(): boolean {
    return this.#closed || this.#socket.destroyed;
  }

  /**
   * Writes `bytes`, in `pieces` with `gapMs` between them for a slow client; `end` half-closes after.
   * A write the server refuses (it closed first) is not an error: the answer may already be on its way.
   */
  async send(bytes: Buffer, options: { pieces?: number; gapMs?: number; end?: boolean; headOnly?: boolean } = {}): Promise<void> {
    this.#reader.headOnly = options.headOnly ?? false;
    const pieces = Math.max(1, Math.min(options.pieces ?? 1, bytes.length));
    const step = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length && !this.closed; at += step) {
      if (at > 0 && options.gapMs) await sleep(options.gapMs);
      const piece = bytes.subarray(at, at + step);
      const flushed = this.#socket.write(piece);
      if (!flushed) await this.#drained();
    }
    if (options.end && !this.closed) this.#socket.end();
    this.#sentAt = performance.now();
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    });
  }

  /** The next answer, or what became of the connection, within `deadlineMs` of the end of sending. */
  async answer(deadlineMs = 10_000): Promise<WireResult> {
    const deadline = this.#sentAt + deadlineMs;
    for (;;) {
      const parsed = this.#reader.next(this.closed);
      if (parsed) return { kind: 'answer', answer: { ...parsed, latencyMs: performance.now() - this.#sentAt } };
      if (this.closed) return { kind: 'closed', afterMs: performance.now() - this.#sentAt, partial: this.#reader.pending };
      const left = deadline - performance.now();
      if (left <= 0) return { kind: 'timeout' };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** One request on a fresh connection: connect, send, read the answer, close. */
export async function exchange(
  port: number,
  spec: RequestSpec | Buffer,
  options: { pieces?: number; gapMs?: number; end?: boolean; deadlineMs?: number } = {},
): Promise<WireResult> {
  const connection = await WireConnection.open(port);
  if (!(connection instanceof WireConnection)) return { kind: 'refused', code: connection.refused };
  try {
    const bytes = Buffer.isBuffer(spec) ? spec : requestBytes(spec);
    await connection.send(bytes, { ...options, headOnly: !Buffer.isBuffer(spec) && spec.method === 'HEAD' });
    return await connection.answer(options.deadlineMs);
  } finally {
    connection.close();
  }
}

/** The JSON of an answer's body, or undefined. */
export function jsonOf(answer: WireAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Box's error JSON: {"type":"error","status":<the status>,"code":…,"message":…,"request_id":…}. */
export function isBoxError(answer: WireAnswer): boolean {
  const body = jsonOf(answer) as Record<string, unknown> | undefined;
  return (
    typeof body === 'object' &&
    body !== null &&
    body.type === 'error' &&
    body.status === answer.status &&
    typeof body.code === 'string' &&
    typeof body.message === 'string' &&
    typeof body.request_id === 'string'
  );
}
