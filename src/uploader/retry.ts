/** What one request attempt came back with, as far as retrying cares. */
export type AttemptOutcome = { kind: 'status'; status: number; code?: string; retryAfterSeconds?: number } | { kind: 'network'; message: string };

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First backoff; doubles per attempt up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, backoffMs: 100, maxBackoffMs: 5_000 };

export function backoffFor(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
}

/**
 * How long to wait before trying again after `attempt` failed, or undefined when the failure is final.
 * Transient: 5xx, 429 (Retry-After honoured), a dropped connection. A part answered with
 * range_overlaps_existing_part was not stored, so it is sent again at once.
 */
export function retryDelayFor(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  if (outcome.kind === 'network') return backoffFor(attempt, policy);
  if (outcome.status === 429) {
    return outcome.retryAfterSeconds === undefined ? backoffFor(attempt, policy) : outcome.retryAfterSeconds * 1000;
  }
  if (outcome.status >= 500) return backoffFor(attempt, policy);
  if (outcome.status === 416 && outcome.code === 'range_overlaps_existing_part') return 0;
  return undefined;
}

/** Retry-After in whole seconds (the HTTP-date form is not used by Box); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  return Number(text);
}
