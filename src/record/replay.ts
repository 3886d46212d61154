/**
 * Replays a recording offline with nock: every recorded exchange becomes one interceptor that answers
 * the same request (method, URL, identifying headers, credentials kind, body SHA-1) with the recorded
 * answer, in recorded order. A request the recording does not hold is a kit error naming it. nock is
 * loaded only here, and only in replay runs: importing it slows real traffic.
 */
import { createHash } from 'node:crypto';
import { KitError } from '../errors.ts';
import { type FileRangeBody, type Transport, isFileRange, undiciTransport } from '../http/transport.ts';
import { type CredentialsMark, MATCHED_HEADERS, type RecordedExchange, type Recording, credentialsMark } from './recording.ts';
import { errorCodeOf } from '../protocol/answers.ts';

/** The token a replay run uses: recordings hold no token, only which kind each request carried. */
export const REPLAY_TOKEN = 'replay-token';
/** Carries a recorded download's length and SHA-1 from the interceptor to the caller (recordings keep no downloaded bytes). */
const CONTENT_HEADER = 'x-box-conformance-replayed-content';

const sha1Hex = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');

/** nock hands a body matcher parsed JSON, a UTF-8 string, or hex for binary bodies: try each reading. */
export function bodyMatches(seen: unknown, recorded: RecordedExchange['request']['body']): boolean {
  if (typeof seen === 'string') {
    // Lengths first: nock may try every recorded part against a body, and hashing each is quadratic.
    if (Buffer.byteLength(seen, 'utf8') === recorded.length && sha1Hex(Buffer.from(seen, 'utf8')) === recorded.sha1) return true;
    return seen.length === recorded.length * 2 && /^(?:[0-9a-f]{2})*$/.test(seen) && sha1Hex(Buffer.from(seen, 'hex')) === recorded.sha1;
  }
  if (seen === undefined) return recorded.length === 0;
  if (recorded.json !== undefined) return JSON.stringify(seen) === JSON.stringify(recorded.json);
  // A binary body whose text or hex reads as JSON (a one-byte part "7", or 0x92 as hex "92") reaches the matcher parsed.
  return bodyMatches(JSON.stringify(seen), recorded);
}

function ensurePromiseWithResolvers(): void {
  // nock 15 uses Promise.withResolvers, which Node 20 lacks.
  const promise = Promise as unknown as { withResolvers?: unknown };
  if (typeof promise.withResolvers === 'function') return;
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const created = new Promise<T>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise: created, resolve, reject };
  };
}

async function fileRangeBytes(body: FileRangeBody): Promise<Buffer> {
  const bytes = Buffer.alloc(body.length);
  const { bytesRead } = await body.file.read(bytes, 0, body.length, body.offset);
  return bytes.subarray(0, bytesRead);
}

export async function replayTransport(recording: Recording): Promise<Transport & { unused(): number }> {
  ensurePromiseWithResolvers();
  const { default: nock } = await import('nock');
  nock.disableNetConnect();
  for (const exchange of recording.exchanges) {
    const url = new URL(exchange.request.url);
    let interceptor = nock(url.origin).intercept(`${url.pathname}${url.search}`, exchange.request.method, (body: unknown) =>
      bodyMatches(body, exchange.request.body),
    );
    for (const name of MATCHED_HEADERS) {
      const expected = exchange.request.headers[name];
      interceptor = interceptor.matchHeader(name, (value: string | null) => (value ?? undefined) === expected);
    }
    const credentials = exchange.request.headers.authorization as CredentialsMark | undefined;
    interceptor = interceptor.matchHeader('authorization', (value: string | null) =>
      credentials === undefined ? value === null : value !== null && credentialsMark(value, REPLAY_TOKEN) === credentials,
    );
    const content = exchange.response?.content;
    if (exchange.response)
      interceptor.reply(exchange.response.status, exchange.response.body, {
        ...exchange.response.headers,
        ...(content ? { [CONTENT_HEADER]: `${content.length}:${content.sha1}` } : {}),
      });
    else interceptor.replyWithError(exchange.failure ?? 'connection failed');
  }
  const inner = undiciTransport({ useGlobalDispatcher: true });
  return {
    async send(request) {
      // nock matches bodies it can read whole: a file range goes as its bytes.
      const result = await inner.send(isFileRange(request.body) ? { ...request, body: await fileRangeBytes(request.body) } : request);
      const code = result.ok ? errorCodeOf(result.response.body) : undefined;
      if (result.ok && result.response.status === 501 && code === 'ERR_NOCK_NO_MATCH') {
        const range = request.headers['content-range'] ? ` (Content-Range: ${request.headers['content-range']})` : '';
        // A JSON body names what was asked (a create's file name and size): the request the recording lacks.
        const json = typeof request.body === 'string' ? ` with ${request.body.slice(0, 200)}` : '';
        throw new KitError(
          `the recording holds no answer for ${request.method} ${request.url}${range}${json}: the run asked something the recorded run did not`,
        );
      }
      const replayed = result.ok ? result.response.headers[CONTENT_HEADER] : undefined;
      if (result.ok && typeof replayed === 'string') {
        const [length, sha1 = ''] = replayed.split(':');
        delete result.response.headers[CONTENT_HEADER];
        result.response.content = { length: Number(length), sha1 };
      }
      return result;
    },
    unused: () => nock.pendingMocks().length,
    close: async () => {
      nock.cleanAll();
      nock.restore();
      await inner.close();
    },
  };
}
