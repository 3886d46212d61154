/**
 * The kit's error types, in one place. KitError ends a run without a verdict (exit 2, one line on stderr);
 * the others are failures of the kit's parts that their callers turn into findings, blocked rules or exit codes.
 *
 * "Could not run" has one channel from where it happens to the exit code: whatever meets it throws a
 * KitError; the step it reaches attaches its message as KIT_ERROR_MEDIA_TYPE (reportKitErrors); the
 * run's results read that attachment back (grader/results.ts) and runConformance turns it into exit 2.
 * Outside Cucumber (before the steps run: a server that cannot be reached), the KitError itself reaches
 * the command line.
 */

import type { AttemptOutcome } from './http/retry.ts';
import type { ServerRuleId } from './protocol/rules.ts';

/** The kit itself cannot go on (a client command that does not exist, a server it cannot reach): exit code 2, not a verdict. */
export class KitError extends Error {
  override readonly name = 'KitError';
}

/** What a scenario attaches when the kit could not run it: the KitError's message. */
export const KIT_ERROR_MEDIA_TYPE = 'application/vnd.box-conformance.kit-error+text';

/**
 * Runs a step's work; a KitError it throws is attached to the scenario (the channel the exit code is
 * read from) and fails the step. The step's own message keeps the "KIT ERROR: " a reader of the progress
 * lines and cucumber.html sees; nothing reads it back.
 */
export async function reportKitErrors<T>(attach: (body: string, mediaType: string) => void, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof KitError)) throw error;
    attach(error.message, KIT_ERROR_MEDIA_TYPE);
    throw new Error(`KIT ERROR: ${error.message}`, { cause: error });
  }
}

// The errors of the kit's parts, each caught where its part's caller decides what it means.

/** The reference uploader could not upload the file (a refusal, or retries spent). */
export class UploadError extends Error {
  override readonly name = 'UploadError';
}

/** A request still failing transiently when its policy's attempts ran out (or a connection that failed for good). */
export class RetriesExhausted extends Error {
  override readonly name = 'RetriesExhausted';
  constructor(
    readonly what: string,
    readonly outcome: AttemptOutcome,
    readonly attempts: number,
    describe: (outcome: AttemptOutcome) => string,
  ) {
    super(`${what}: ${describe(outcome)}, giving up after ${attempts} attempt(s)`);
  }
}

/** The server gave no answer at all (the connection failed or was dropped). */
export class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/**
 * A scenario could not be judged because the server broke another rule first (it would not open a
 * session, store a correct part, list parts, ...): the scenario's rules are `blocked` by those.
 */
export class Blocked extends Error {
  override readonly name = 'Blocked';
  constructor(
    readonly blockedBy: readonly ServerRuleId[],
    message: string,
  ) {
    super(message);
  }
}

/** The kit stopped waiting for an answer: neither a pass nor a failure of any rule. */
export class GaveUpWaiting extends Error {
  override readonly name = 'GaveUpWaiting';
  constructor(
    /** What was waited for, e.g. "the answer to POST …/commit". */
    readonly waitedFor: string,
    readonly budgetMs: number,
    /** Why waiting longer would not fit, e.g. "the server answered 202 and asked to commit again after 90 s". */
    readonly why: string,
  ) {
    super(`gave up waiting for ${waitedFor} after ${Math.round(budgetMs / 100) / 10} s (${why}); raise --timeout to wait longer`);
  }
}
