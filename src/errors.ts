/**
 * The kit's own errors: what ends a run without a verdict (exit 2, one line on stderr).
 *
 * "Could not run" has one channel from where it happens to the exit code: whatever meets it throws a
 * KitError; the step it reaches attaches its message as KIT_ERROR_MEDIA_TYPE (reportKitErrors); the
 * run's results read that attachment back (grader/results.ts) and runConformance turns it into exit 2.
 * Outside Cucumber (before the steps run: a server that cannot be reached), the KitError itself reaches
 * the command line.
 */

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
