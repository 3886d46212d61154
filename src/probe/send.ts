// The send-and-wait loop: every request the probe sends, kept as an exchange with what the kit expects
// of its answer, asked again after a 429 (and a documented 5xx, when it should succeed) as the probe's
// retry policy says, within the answer budget; an answer that never comes blocks the rule it owed.
import { PROBE_RETRY_POLICY, outcomeOf, retrying } from '../http/retry.ts';
import type { HttpMethod, HttpRequest, JsonResponse, SendResult } from '../http/transport.ts';
import { parseContentRange } from '../protocol/content-range.ts';
import { sha1Of } from '../protocol/digest.ts';
import { ANSWER_RULE, AnswerDeadline, type RequestKind } from './budget.ts';
import { Blocked, GaveUpWaiting, NoAnswer } from '../errors.ts';
import { authorizationFor, shownAuthorization } from './credentials.ts';
import type { Credentials, Expectation, ProbeExchange } from './exchange.ts';
import { type ServerTarget, runShared } from './target.ts';

export interface SendSpec {
  kind: RequestKind;
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  credentials?: Credentials;
  expect?: Expectation;
  /** The upload session the request is about. */
  session?: string;
  hashResponseBody?: boolean;
  /** The body's hex SHA-1, when the caller has it already. */
  bodySha1?: string;
  /** Share an answer's budget across several requests (a commit and the 202s before its answer). */
  deadline?: AnswerDeadline;
  /** The probe case or generated step the request belongs to. */
  label?: string;
  /** How the bytes of a binary body are made, for a reproduction. */
  bytes?: string;
}

export const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** What the loop needs of the probe: where to send, where to keep exchanges, the current label, and what to learn from each final answer. */
export interface SendContext {
  readonly target: ServerTarget;
  readonly exchanges: ProbeExchange[];
  label(): string | undefined;
  learn(exchange: ProbeExchange, response: JsonResponse): void;
}

export async function sendAndWait(context: SendContext, spec: SendSpec): Promise<JsonResponse> {
  const { target, exchanges } = context;
  const { patience } = runShared(target);
  patience.assertAnswering(spec.kind);
  const credentials = spec.credentials ?? 'token';
  const headers = { ...authorizationFor(credentials, target.token), ...spec.headers };
  const shown = { ...headers, ...(headers.authorization === undefined ? {} : { authorization: shownAuthorization(credentials, target.token) }) };
  const sent = {
    headers: shown,
    ...(typeof spec.body === 'string' ? { json: spec.body } : {}),
    ...(spec.body !== undefined && typeof spec.body !== 'string' ? { bytes: spec.bytes ?? `${spec.body.length} bytes` } : {}),
  };
  const request: HttpRequest = { method: spec.method, url: spec.url, headers, body: spec.body, hashResponseBody: spec.hashResponseBody };
  const contentRange = spec.headers?.['content-range'];
  const described = `${spec.method} ${spec.url}${contentRange ? ` (Content-Range: ${contentRange})` : ''}${
    credentials === 'none' ? ' without a token' : credentials === 'wrong' ? ' with a wrong token' : ''
  }`;
  const parsedRange = parseContentRange(contentRange);
  const bodyBytes = spec.body === undefined ? Buffer.alloc(0) : typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
  const body = { length: bodyBytes.length, sha1: spec.bodySha1 ?? sha1Of(bodyBytes).toString('hex') };
  const deadline = spec.deadline ?? new AnswerDeadline(runShared(target).patience.budget(), `the answer to ${described}`);
  const attemptOnce = async (): Promise<{ exchange: ProbeExchange; response: JsonResponse }> => {
    const exchange: ProbeExchange = {
      index: exchanges.length,
      request: described,
      method: spec.method,
      url: spec.url,
      credentials,
      range: parsedRange.ok ? parsedRange.value : undefined,
      body,
      session: spec.session,
      expect: spec.expect ?? { kind: 'any' },
      sent,
      ...((spec.label ?? context.label()) ? { label: spec.label ?? context.label() } : {}),
    };
    exchanges.push(exchange);
    let result: SendResult;
    try {
      result = await deadline.within(target.transport.send(request));
    } catch (error) {
      if (error instanceof GaveUpWaiting) hang(target, exchange, spec.kind, `no answer came within ${seconds(deadline.budgetMs)} s`);
      throw error;
    }
    if (!result.ok) {
      if (/timeout/i.test(result.failure)) hang(target, exchange, spec.kind, `no answer came within ${seconds(deadline.budgetMs)} s (${result.failure})`);
      exchange.failure = result.failure;
      throw new NoAnswer(`${described}: no answer (${result.failure})`);
    }
    exchange.response = result.response;
    return { exchange, response: result.response };
  };
  // A rate limit is not the server's answer to the request, nor, for a request that should succeed, a
  // transient server error: both are waited out (PROBE_RETRY_POLICY); a refusal's 5xx is its answer.
  const policy = spec.expect?.kind === 'refusal' ? { ...PROBE_RETRY_POLICY, maxAttempts: 1 } : PROBE_RETRY_POLICY;
  const { result } = await retrying(attemptOnce, ({ response }) => outcomeOf({ ok: true, response }), policy, {
    beforeWait: (waitMs, { exchange, response }) =>
      waitOut(exchange, deadline, waitMs, `the server answered ${response.status} and the kit would wait ${seconds(waitMs)} s more`),
  });
  context.learn(result.exchange, result.response);
  return result.response;
}

/**
 * The answer hung: the rule it owed fails (the refusal's own rule, else the endpoint's), the endpoint is
 * not called again in this run, and the step ends, blocked by that rule.
 */
export function hang(
  target: ServerTarget,
  exchange: ProbeExchange,
  kind: RequestKind,
  reason: string,
  rule = exchange.expect.kind === 'refusal' ? exchange.expect.rule : ANSWER_RULE[kind],
): never {
  exchange.hung = { rule, reason };
  runShared(target).patience.hung(kind, rule, `${exchange.request}: ${reason}`);
  throw new Blocked([rule], `${exchange.request}: ${reason}`);
}

/** Notes on the exchange that the kit waits `waitMs` after its answer, or gave up: the wait would overrun the answer's budget. */
export function waitOut(exchange: ProbeExchange, deadline: AnswerDeadline, waitMs: number, why: string): void {
  try {
    deadline.assertCanWait(waitMs, why);
  } catch (error) {
    exchange.gaveUp = true;
    throw error;
  }
  exchange.waitedOut = true;
}
