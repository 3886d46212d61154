// Retry as a layer over a Transport, the way undici composes its retry interceptor over one dispatcher:
// one policy (which answers are transient, how long to wait, how many times), each caller with its own
// limits: the reference uploader (DEFAULT_RETRY_POLICY), the probe (PROBE_RETRY_POLICY) and the soak.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCodeOf } from '../protocol/answers.ts';
import { retryAfterMs } from '../protocol/retry-after.ts';
import { RATE_LIMITED, type Transience, isTransientStatus } from '../protocol/transient.ts';
import type { HttpRequest, JsonResponse, SendResult, Transport } from './transport.ts';
import { RetriesExhausted } from '../errors.ts';

/** What one request attempt came back with, as far as retrying cares. */
export type AttemptOutcome = { kind: 'status'; status: number; code?: string; retryAfterMs?: number } | { kind: 'network'; message: string };

export interface RetryPolicy {
  /** Which answers are transient (src/protocol/transient.ts). */
  transience: Transience;
  /** Whether a failed or dropped connection is tried again. */
  retryNoAnswer: boolean;
  /** Attempts per request, the first included, while the answers are transient. */
  maxAttempts: number;
  /** Attempts while the answers are 429s (Infinity: as long as the caller's budget lasts). */
  maxRateLimitedAttempts: number;
  /** First backoff; doubles per attempt up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Which answers' Retry-After is waited for instead of the backoff. */
  retryAfterOn: 'none' | 'rate-limit' | 'transient';
  /** The shortest wait a Retry-After is taken for. */
  minRetryAfterMs: number;
}

/** The reference uploader's: every 5xx, 429 and dropped connection, 6 attempts, 100 ms doubling to 5 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  transience: 'client',
  retryNoAnswer: true,
  maxAttempts: 6,
  maxRateLimitedAttempts: 6,
  backoffMs: 100,
  maxBackoffMs: 5_000,
  retryAfterOn: 'rate-limit',
  minRetryAfterMs: 0,
};

/**
 * The probe's: a 429 is not the server's answer to the request, so it is waited out for as long as the
 * answer budget allows; a documented transient 5xx is asked again twice when the request should succeed
 * (Box: retry 5xx with backoff); a failed connection is an answer of its own (none).
 */
export const PROBE_RETRY_POLICY: RetryPolicy = {
  transience: 'documented',
  retryNoAnswer: false,
  maxAttempts: 3,
  maxRateLimitedAttempts: Infinity,
  backoffMs: 1_000,
  maxBackoffMs: 30_000,
  retryAfterOn: 'transient',
  minRetryAfterMs: 200,
};

export function backoffFor(attempt: number, policy: Pick<RetryPolicy, 'backoffMs' | 'maxBackoffMs'>): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
}

/** Whether `outcome` is one the policy tries again after (while its attempts last). */
export function isTransientOutcome(outcome: AttemptOutcome, policy: RetryPolicy): boolean {
  return outcome.kind === 'network' ? policy.retryNoAnswer : isTransientStatus(outcome.status, policy.transience);
}

/** How long to wait before trying again after `attempt` came back with `outcome`, or undefined when it is final. */
export function retryDelayFor(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy): number | undefined {
  const rateLimited = outcome.kind === 'status' && outcome.status === RATE_LIMITED;
  if (!isTransientOutcome(outcome, policy) || attempt >= (rateLimited ? policy.maxRateLimitedAttempts : policy.maxAttempts)) return undefined;
  const told = outcome.kind === 'status' ? outcome.retryAfterMs : undefined;
  const honoured = policy.retryAfterOn === 'transient' || (policy.retryAfterOn === 'rate-limit' && rateLimited);
  return honoured && told !== undefined ? Math.max(told, policy.minRetryAfterMs) : backoffFor(attempt, policy);
}

export function outcomeOf(result: SendResult): AttemptOutcome {
  if (!result.ok) return { kind: 'network', message: result.failure };
  const { status, body, headers } = result.response;
  return { kind: 'status', status, code: errorCodeOf(body), retryAfterMs: retryAfterMs(headers) };
}

export function describeOutcome(outcome: AttemptOutcome): string {
  if (outcome.kind === 'network') return `connection failed (${outcome.message})`;
  return `HTTP ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}`;
}

export interface RetryHooks<R> {
  /** Called before each wait; may throw to stop (an answer budget that the wait would overrun). */
  beforeWait?: (waitMs: number, result: R, outcome: AttemptOutcome, attempt: number) => void;
  /** The wait after `attempt` came back with `outcome`, or undefined when it is final (default: the policy's, retryDelayFor). */
  delayFor?: (outcome: AttemptOutcome, attempt: number) => number | undefined;
}

export interface Retried<R> {
  result: R;
  attempts: number;
  /** Set when the last result was still transient: the policy's attempts ran out. */
  exhausted?: AttemptOutcome;
}

/**
 * Attempts until the outcome is final under `policy`. `outcome` reads each result (undefined: a result
 * that is not a failure at all, such as a success). The one retry loop; the layers below wrap it.
 */
export async function retrying<R>(
  attempt: (attemptNumber: number) => Promise<R>,
  outcome: (result: R) => AttemptOutcome | undefined,
  policy: RetryPolicy,
  hooks: RetryHooks<R> = {},
): Promise<Retried<R>> {
  for (let attempts = 1; ; attempts++) {
    const result = await attempt(attempts);
    const read = outcome(result);
    if (read === undefined) return { result, attempts };
    const waitMs = hooks.delayFor ? hooks.delayFor(read, attempts) : retryDelayFor(read, attempts, policy);
    if (waitMs === undefined) return isTransientOutcome(read, policy) ? { result, attempts, exhausted: read } : { result, attempts };
    hooks.beforeWait?.(waitMs, result, read, attempts);
    if (waitMs > 0) await sleep(waitMs);
  }
}

/** A Transport that retries transient answers under `policy`; `answer` also turns a final failure into RetriesExhausted. */
export interface RetryingTransport extends Transport {
  answer(what: string, request: HttpRequest): Promise<JsonResponse>;
}

export function withRetry(inner: Transport, policy: RetryPolicy, log: (line: string) => void = () => {}): RetryingTransport {
  const send = async (request: HttpRequest, what = `${request.method} ${request.url}`): Promise<Retried<SendResult>> =>
    retrying(() => inner.send(request), outcomeOf, policy, {
      beforeWait: (waitMs, _result, outcome) => log(`${what}: ${describeOutcome(outcome)}; retrying in ${waitMs} ms`),
    });
  return {
    send: async (request) => (await send(request)).result,
    async answer(what, request) {
      const { result, attempts, exhausted } = await send(request, what);
      if (exhausted || !result.ok) throw new RetriesExhausted(what, exhausted ?? outcomeOf(result), attempts, describeOutcome);
      return result.response;
    },
    close: () => inner.close(),
  };
}

/** The wait a 202 commit asks for: its Retry-After, 1 s without one. */
export function commitWaitMs(response: JsonResponse): number {
  return retryAfterMs(response.headers) ?? 1_000;
}

/**
 * Sends a commit until its answer is not 202 (the parts are still being processed), waiting as each 202
 * asks, at most `maxWaits` times; returns the last answer. `beforeWait` may throw to stop (a budget).
 */
export async function awaitCommit(
  sendCommit: () => Promise<JsonResponse>,
  options: { maxWaits?: number; beforeWait?: (waitMs: number, response: JsonResponse, waits: number) => void } = {},
): Promise<JsonResponse> {
  for (let waits = 0; ; waits++) {
    const response = await sendCommit();
    if (response.status !== 202 || waits >= (options.maxWaits ?? Infinity)) return response;
    const waitMs = commitWaitMs(response);
    options.beforeWait?.(waitMs, response, waits);
    await sleep(waitMs);
  }
}
