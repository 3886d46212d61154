/**
 * A client that exited without a request in every run never ran as an uploader: its adapter died on
 * import, the interpreter was the wrong one, a package was missing. That is the kit's "could not run"
 * (exit 2) with what the client printed, not a verdict on rules it never had a chance to keep. Decided
 * once every run is over, from the runs' attachments: one silent run among others that made requests is
 * graded, and so is a client that hangs (killed at the timeout): hanging is what it did.
 */
import type { ClientOutcome } from '../adapters/client.ts';
import { CLIENT_RUN_MEDIA_TYPE, type ClientRunAttachment } from '../grader/attachments.ts';

/** Attached beside a client run that exited without a request: what the client did instead. */
export const SILENT_RUN_MEDIA_TYPE = 'application/vnd.box-conformance.silent-run+json';

export interface SilentRunAttachment {
  runId: string;
  /** "exit code 1 after 212 ms" */
  exit: string;
  /** The last lines of its stderr (of its stdout when stderr is empty). */
  lastLines: string;
}

const LAST_LINES = 12;

const tail = (text: string) => text.trimEnd().split('\n').slice(-LAST_LINES).join('\n');

export function silentRunAttachment(runId: string, outcome: ClientOutcome): SilentRunAttachment {
  return {
    runId,
    exit: `exit code ${outcome.exitCode} after ${outcome.durationMs.toFixed(0)} ms`,
    lastLines: tail(outcome.stderr.trim() ? outcome.stderr : outcome.stdout),
  };
}

/** Why the client could not run, when none of its runs made a request; undefined when one did (or none ran). */
export function couldNotRunReason(attachments: readonly { mediaType: string; body: string }[]): string | undefined {
  const runs = new Set<string>();
  const silent = new Map<string, SilentRunAttachment>();
  for (const { mediaType, body } of attachments) {
    if (mediaType === CLIENT_RUN_MEDIA_TYPE) runs.add((JSON.parse(body) as ClientRunAttachment).runId);
    if (mediaType === SILENT_RUN_MEDIA_TYPE) {
      const run = JSON.parse(body) as SilentRunAttachment;
      silent.set(run.runId, run);
    }
  }
  if (runs.size === 0 || [...runs].some((runId) => !silent.has(runId))) return undefined;
  const [first] = silent.values();
  const printed = first?.lastLines ? `; the last lines it printed:\n${first.lastLines}` : ', and printed nothing';
  return `the client made no request in any of its ${runs.size} run(s), so there is nothing to grade: does the command start (interpreter, packages installed)? Its first run ended with ${first?.exit}${printed}`;
}
