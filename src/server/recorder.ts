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
  /** Lower-case names; the credentials of Authorization are replaced: `<scheme as sent> <redacted>` (redactAuthorization). */
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

/**
 * An Authorization value with its credentials removed, keeping the scheme as the client sent it
 * (`bearer <redacted>`), so evidence shows what was sent. Only a word of letters followed by credentials
 * counts as a scheme; anything else (a bare token, say) is redacted whole.
 */
export function redactAuthorization(value: string): string {
  const scheme = /^([A-Za-z]{1,20}) +\S/.exec(value)?.[1];
  return scheme ? `${scheme} <redacted>` : '<redacted>';
}

export function redactHeaders(headers: NodeJS.Dict<string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = name === 'authorization' || name === 'proxy-authorization' ? redactAuthorization(String(value)) : String(value);
  }
  return out;
}
