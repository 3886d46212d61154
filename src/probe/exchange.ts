/**
 * What the kit knows about each exchange it had with a server under test: what it sent, what it expects
 * back (derived from what it sent, never from the server's earlier answers), and what came back. The
 * grader judges every exchange from this record (src/grader/server-findings.ts).
 */
import type { HttpMethod, JsonResponse } from '../http/transport.ts';
import type { ServerRuleId } from '../protocol/rules.ts';
import { fieldOf, errorCodeOf } from '../protocol/answers.ts';

/** Which Authorization header a request carries. */
export type Credentials = 'token' | 'none' | 'wrong' | 'no-scheme' | 'other-scheme' | 'empty-bearer';

/** A part the kit sent and the server acknowledged: the bytes sent, and the id the server gave them. */
export interface ExpectedPart {
  readonly offset: number;
  readonly size: number;
  /** Hex SHA-1 of the bytes sent. */
  readonly sha1: string;
  /** The part_id of the server's answer, when it gave a usable one. */
  readonly partId?: string;
  /** The sha1 of the server's answer, when it differs from the bytes' (S-PART-OK's to judge). */
  readonly answeredSha1?: string;
}

/** What the kit expects of the answer to one request. */
export type Expectation =
  /**
   * A valid create with the token: 201 and an upload_session for a file of `fileSize` bytes (S-CREATE);
   * `mayRefuse`: a file under Box's 20 MB minimum, which a server may refuse with a 4xx instead.
   */
  | { readonly kind: 'session'; readonly fileSize: number; readonly mayRefuse?: boolean }
  /** A correct part into a free range: 200 and its record (S-PART-OK). */
  | { readonly kind: 'part' }
  /** A listing of an open session: a page of exactly the acknowledged parts (S-LIST-PARTS). */
  | { readonly kind: 'listing'; readonly parts: readonly ExpectedPart[]; readonly query: { readonly offset?: number; readonly limit?: number } }
  /** GET status of an open session: num_parts_processed counting the acknowledged parts (S-STATUS). */
  | { readonly kind: 'status'; readonly sessionId: string; readonly processed: number }
  /** A complete commit with the right Digest: 201 with a file of this size and SHA-1 (S-COMMIT-OK). */
  | { readonly kind: 'file'; readonly size: number; readonly sha1: string }
  /** A download of a committed file: these bytes (S-COMMIT-OK). */
  | { readonly kind: 'content'; readonly size: number; readonly sha1: string }
  /** DELETE of an open session: 204 (S-ABORT). */
  | { readonly kind: 'abort' }
  /** A request crafted to be refused, and the rule that says how: `status` exactly, or any 4xx. */
  | { readonly kind: 'refusal'; readonly rule: ServerRuleId; readonly status?: number; readonly code?: string }
  /** Nothing beyond what every answer owes (clean-up, a read of a file). */
  | { readonly kind: 'any' };

export interface ProbeExchange {
  /** Position in the scenario's exchanges: what findings name. */
  readonly index: number;
  /** The request in words, for evidence. */
  readonly request: string;
  readonly method: HttpMethod;
  readonly url: string;
  readonly credentials: Credentials;
  /** The Content-Range sent with a part, when it was well-formed. */
  readonly range?: { readonly lo: number; readonly hi: number; readonly total: number };
  /** Length and hex SHA-1 of the body sent. */
  readonly body: { readonly length: number; readonly sha1: string };
  /** The request as sent, for a reproduction: headers with the token replaced by `$TOKEN`, a JSON body's text. */
  readonly sent: { readonly headers: Readonly<Record<string, string>>; readonly json?: string; readonly bytes?: string };
  /** The probe case or generated step the request belongs to, when there is one. */
  readonly label?: string;
  /** The upload session the request is about. */
  readonly session?: string;
  readonly expect: Expectation;
  response?: JsonResponse;
  failure?: string;
  /** A 429, a transient 5xx to a request that should succeed, or a commit's 202, the kit waited out and asked again: not the answer to judge. */
  waitedOut?: boolean;
  /** The kit gave up waiting (its budget): not judged. */
  gaveUp?: boolean;
  /** No answer came within the budget, or 202s never ended: a failure of `rule`, and nothing else is judged. */
  hung?: { readonly rule: ServerRuleId; readonly reason: string };
}

/** A state-changing request: one that may leave the session other than the kit expects when wrongly accepted. */
export const changesState = (method: HttpMethod) => method !== 'GET';

/** What the kit expects of an answer, in words, for reports and reproductions. */
export function describeExpectation(expect: Expectation): string {
  switch (expect.kind) {
    case 'session':
      return `201 with an upload_session for ${expect.fileSize} bytes${expect.mayRefuse ? ' (or a 4xx: under 20 MB)' : ''}`;
    case 'part':
      return "200 with the part's record";
    case 'listing':
      return `200 listing the ${expect.parts.length} part(s) stored`;
    case 'status':
      return `200 with num_parts_processed ${expect.processed}`;
    case 'file':
      return `201 with a file of ${expect.size} bytes, sha1 ${expect.sha1}`;
    case 'content':
      return `the file's ${expect.size} bytes`;
    case 'abort':
      return '204';
    case 'refusal':
      return `${expect.status ?? '4xx'}${expect.code ? ` ${expect.code}` : ''} (${expect.rule})`;
    case 'any':
      return 'any answer';
  }
}

/** The exchanges as a reproduction's requests (src/grader/reproduction.ts): as sent, the token already `$TOKEN`. */
export function reproductionRequestsOf(exchanges: readonly ProbeExchange[]) {
  return exchanges.map((exchange) => {
    const created = exchange.method === 'POST' && exchange.session === undefined ? fieldOf(exchange.response?.body, 'id') : undefined;
    const session = exchange.session ?? (typeof created === 'string' ? created : undefined);
    const body =
      exchange.sent.json !== undefined
        ? { kind: 'json' as const, text: exchange.sent.json }
        : exchange.sent.bytes !== undefined
          ? { kind: 'bytes' as const, length: exchange.body.length, sha1: exchange.body.sha1, how: exchange.sent.bytes }
          : { kind: 'none' as const };
    return {
      index: exchange.index,
      method: exchange.method,
      url: exchange.url,
      headers: { ...exchange.sent.headers },
      body,
      expected: describeExpectation(exchange.expect),
      answered: exchange.response
        ? `HTTP ${exchange.response.status}${errorCodeOf(exchange.response.body) === undefined ? '' : ` ${errorCodeOf(exchange.response.body)}`}`
        : (exchange.hung?.reason ?? `no answer: ${exchange.failure ?? ''}`),
      credentials: exchange.credentials === 'token' ? ('token' as const) : exchange.credentials === 'none' ? ('none' as const) : ('wrong' as const),
      ...(session === undefined ? {} : { session }),
    };
  });
}
