import { Then, When } from '@cucumber/cucumber';
import { FINDINGS_MEDIA_TYPE, type Finding, type FindingsAttachment } from '../src/grader/findings.ts';
import type { GeneratedOutcome } from '../src/kit/generated.ts';
import type { KitWorld } from './support/world.ts';

/** A finding of the smallest failing case, said with the case and the seed that replays it. */
function inSmallestCase(outcome: GeneratedOutcome & { failed: true }, finding: Finding): Finding {
  return {
    ...finding,
    run: `generated cases (fast-check seed ${outcome.seed})`,
    message: `in the smallest case found, ${outcome.description}: ${finding.message} (fast-check seed ${outcome.seed}, ${outcome.runs} runs, shrunk ${outcome.shrinks} times; replay with --seed ${outcome.seed} --runs ${outcome.runs})`,
  };
}

// No Cucumber time limit: each case is a client run, killed by its adapter at the run's --timeout.
When('the client uploads generated files under generated fault schedules', { timeout: -1 }, async function (this: KitWorld) {
  const outcome = await this.generatedOutcome();
  this.attach(
    outcome.failed
      ? `a MUST rule broke; shrunk ${outcome.shrinks} time(s) to ${outcome.description}\n${JSON.stringify(outcome.counterexample)}\nreplay: --seed ${outcome.seed} --runs ${outcome.runs}`
      : `${outcome.runs} generated cases, every MUST rule held (seed ${outcome.seed})`,
    'text/plain',
  );
  // The smallest failing case's findings, as data (the results count each once, whichever scenarios attach them).
  if (!outcome.failed) return;
  const attachment: FindingsAttachment = {
    findings: Object.values(outcome.failures).flatMap((findings) => findings.map((finding) => inSmallestCase(outcome, finding))),
    blocked: [],
  };
  this.attach(JSON.stringify(attachment), FINDINGS_MEDIA_TYPE);
});

Then(/^(C-[A-Z-]+) held in every generated case$/, async function (this: KitWorld, ruleId: string) {
  const outcome = await this.generatedOutcome();
  if (!outcome.failed) return;
  const [first] = outcome.failures[ruleId] ?? [];
  if (first) throw new Error(inSmallestCase(outcome, first).message);
});
