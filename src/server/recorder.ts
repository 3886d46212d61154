import type { UploadPart } from '../protocol/shapes.ts';
import type { FaultAction } from './faults.ts';

export type Operation = 'create' | 'create-version' | 'part' | 'list' | 'status' | 'commit' | 'abort' | 'log' | 'file' | 'control' | 'other';

/** How a request authenticated; the token itself is never kept. */
export type AuthClass = 'valid' | 'wrong-token' | 'missing' | 'malformed';

/** One request and its answer, as the simulated server saw them. Times are monotonic milliseconds. */
export interface Exchange {
  seq: number;
  op: Operation;
  sessionId?: string;
  method: string;
  /** Path and query. */
  url: string;
  /** Lower-case names; Authorization keeps only its scheme as sent: `Bearer <redacted>`, `bearer <redacted>`. */
  requestHeaders: Record<string, string>;
  auth: AuthClass;
  startMs: number;
  endMs: number;
  /** Length and SHA-1 of the bytes read; `truncated` when the server stopped reading a body longer than allowed. */
  requestBody: { length: number; sha1: string; json?: unknown; truncated?: boolean };
  /** 0 when the connection closed with no answer. */
  status: number;
  responseHeaders: Record<string, string>;
  responseBody?: unknown;
  /** The server closed the connection on purpose (a drop fault). */
  dropped: boolean;
  /** The client went away before the exchange finished. */
  clientAborted: boolean;
  /** The injected fault that governed this request; `storedPart` when the server stored the part although it answered with the fault. */
  fault?: { description: string; action: FaultAction; storedPart?: UploadPart };
  /** For parts: the part number (1-based) when the range starts on a part boundary, and its attempt. */
  partNumber?: number;
  attempt?: number;
}

export const REDACTED_AUTHORIZATION = 'Bearer <redacted>';

export class TrafficRecorder {
  readonly #exchanges: Exchange[] = [];
  #seq = 0;

  begin(init: Pick<Exchange, 'method' | 'url' | 'requestHeaders' | 'auth'>): Exchange {
    const exchange: Exchange = {
      seq: ++this.#seq,
      op: 'other',
      ...init,
      startMs: performance.now(),
      endMs: Number.NaN,
      requestBody: { length: 0, sha1: '' },
      status: 0,
      responseHeaders: {},
      dropped: false,
      clientAborted: false,
    };
    this.#exchanges.push(exchange);
    return exchange;
  }

  /** Finished exchanges, in order of arrival. */
  exchanges(): Exchange[] {
    return this.#exchanges.filter((exchange) => !Number.isNaN(exchange.endMs));
  }

  clear(): void {
    this.#exchanges.length = 0;
  }
}

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
