import { once } from 'node:events';
import { type Socket, connect } from 'node:net';

/** One HTTP/1.1 answer as it came off the wire. */
export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A raw TCP connection to a server on 127.0.0.1, for requests an HTTP client would refuse to send
 * (bad framing, bytes after the body, oversized heads): write bytes, read answers one by one.
 */
export class RawConnection {
  readonly socket: Socket;
  /** Resolves when the server has closed the connection (or it broke). */
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #waiting: (() => void) | undefined;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    this.socket.on('error', () => undefined);
    this.closed = once(this.socket, 'close').then(() => {
      this.#ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  /** Writes bytes; resolves when they are handed to the kernel (or the connection is gone). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  /** The next complete answer, or undefined when the connection closed before one arrived. */
  async nextResponse(): Promise<RawResponse | undefined> {
    for (;;) {
      const parsed = this.#parse();
      if (parsed) return parsed;
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  #parse(): RawResponse | undefined {
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return undefined;
    const [statusLine = '', ...lines] = this.#buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    const start = headEnd + 4;
    let body: Buffer;
    let end: number;
    if (headers['content-length'] !== undefined) {
      end = start + Number(headers['content-length']);
      if (this.#buffer.length < end) return undefined;
      body = this.#buffer.subarray(start, end);
    } else if (headers['transfer-encoding'] === 'chunked') {
      const pieces: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.#buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return undefined;
        const size = parseInt(this.#buffer.subarray(at, lineEnd).toString('latin1'), 16);
        if (this.#buffer.length < lineEnd + 2 + size + 2) return undefined;
        pieces.push(this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(pieces);
      end = at;
    } else {
      // No framing: the body runs to the end of the connection.
      if (!this.#ended) return undefined;
      end = this.#buffer.length;
      body = this.#buffer.subarray(start, end);
    }
    this.#buffer = this.#buffer.subarray(end);
    return { status, headers, body: Buffer.from(body) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `request` on a new connection and reads the first answer. */
export async function rawRequest(port: number, request: string | Buffer): Promise<{ response: RawResponse | undefined; connection: RawConnection }> {
  const connection = new RawConnection(port);
  await connection.write(request);
  return { response: await connection.nextResponse(), connection };
}
