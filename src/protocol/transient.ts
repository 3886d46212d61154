/**
 * What counts as a transient answer: one to ask again rather than act on. Two readings, on purpose:
 *
 * - `client`: what a client may retry (Box's guide: a 5xx with backoff, a 429 after its Retry-After). The
 *   reference uploader and the soak's valid traffic retry these, and the grader counts a client's retry of
 *   one as a retry, never as a resend of something the server answered.
 * - `documented`: the probe, grading a server, asks again only after the server errors Box documents as
 *   transient (500, 502, 503, 504) and 429; any other 5xx (507 insufficient_storage, 501) is the
 *   server's answer to the request, and is judged.
 *
 * A connection that failed or was dropped is transient for a client; whether a caller retries one is
 * its retry policy's `retryNoAnswer`.
 */
export type Transience = 'client' | 'documented';

export const RATE_LIMITED = 429;

/** Server errors Box documents as transient. */
export const BOX_TRANSIENT_SERVER_ERRORS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

export function isTransientStatus(status: number, reading: Transience = 'client'): boolean {
  if (status === RATE_LIMITED) return true;
  return reading === 'client' ? status >= 500 : BOX_TRANSIENT_SERVER_ERRORS.has(status);
}
