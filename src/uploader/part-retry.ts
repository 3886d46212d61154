import { type AttemptOutcome, type RetryPolicy, retryDelayFor } from '../http/retry.ts';

export function isOverlapRefusal(outcome: AttemptOutcome): boolean {
  return outcome.kind === 'status' && outcome.status === 416 && outcome.code === 'range_overlaps_existing_part';
}

/**
 * How long the uploader waits before sending a part again, or undefined when it gives up: the policy's
 * wait after a transient answer; none after a refused overlap (the part was not stored: it is sent again at once).
 */
export function partRetryDelayFor(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy): number | undefined {
  if (isOverlapRefusal(outcome)) return attempt < policy.maxAttempts ? 0 : undefined;
  return retryDelayFor(outcome, attempt, policy);
}
