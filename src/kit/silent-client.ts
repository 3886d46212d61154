/**
 * A client that exited without a request in every run never ran as an uploader: its adapter died on
 * import, the interpreter was the wrong one, a package was missing. That is the kit's "could not run"
 * (exit 2) with what the client printed, not a verdict on rules it never had a chance to keep. Decided
 * once every run is over, from the runs' attachments: one silent run among others that made requests is
 * graded, and so is a client that hangs (killed at the timeout): hanging is what it did.
 */
import type { ClientOutcome } from '../adapters/client.ts';
import type { SilentRunAttachment } from '../grader/attachments.ts';
import type { ScenarioEvidence } from '../grader/results.ts';

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
export function couldNotRunReason(evidence: readonly Pick<ScenarioEvidence, 'clientRuns' | 'silentRuns'>[]): string | undefined {
  const runs = new Set(evidence.flatMap(({ clientRuns }) => clientRuns.map((run) => run.runId)));
  const silent = new Map<string, SilentRunAttachment>();
  for (const { silentRuns } of evidence) for (const run of silentRuns) silent.set(run.runId, run);
  if (runs.size === 0 || [...runs].some((runId) => !silent.has(runId))) return undefined;
  const [first] = silent.values();
  const printed = first?.lastLines ? `; the last lines it printed:\n${first.lastLines}` : ', and printed nothing';
  return `the client made no request in any of its ${runs.size} run(s), so there is nothing to grade: does the command start (interpreter, packages installed)? Its first run ended with ${first?.exit}${printed}`;
}
