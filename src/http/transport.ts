import { createHash } from 'node:crypto';
import { Agent, type Dispatcher, getGlobalDispatcher, request } from 'undici';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
  /** Hash a 2xx answer's body instead of keeping it (downloads): the answer then has `content` and an empty `text`. */
  hashResponseBody?: boolean;
}

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
  return {
    async send({ method, url, headers, body, hashResponseBody }) {
      const dispatcher: Dispatcher = own ?? getGlobalDispatcher();
      try {
        const res = await request(url, { method, headers, body, dispatcher });
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
  const body = response.body as { code?: unknown; message?: unknown } | undefined;
  const code = typeof body?.code === 'string' ? ` ${body.code}` : '';
  const text = response.body === undefined && response.text ? `: ${response.text.slice(0, 200)}` : typeof body?.message === 'string' ? `: ${body.message}` : '';
  return `HTTP ${response.status}${code}${text}`;
}
