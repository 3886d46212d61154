import { Then, When } from '@cucumber/cucumber';
import type { KitWorld } from './support/world.ts';

// No Cucumber time limit: each case is a client run, killed by its adapter at the run's --timeout.
When('the client uploads generated files under generated fault schedules', { timeout: -1 }, async function (this: KitWorld) {
  const outcome = await this.generatedOutcome();
  this.attach(
    outcome.failed
      ? `a MUST rule broke; shrunk ${outcome.shrinks} time(s) to ${outcome.description}\n${JSON.stringify(outcome.counterexample)}\nreplay: --seed ${outcome.seed} --runs ${outcome.runs}`
      : `${outcome.runs} generated cases, every MUST rule held (seed ${outcome.seed})`,
    'text/plain',
  );
});

Then(/^(C-[A-Z-]+) held in every generated case$/, async function (this: KitWorld, ruleId: string) {
  const outcome = await this.generatedOutcome();
  if (!outcome.failed) return;
  const findings = outcome.failures[ruleId];
  if (!findings) return;
  throw new Error(
    `in the smallest case found, ${outcome.description}: ${findings[0]} (fast-check seed ${outcome.seed}, ${outcome.runs} runs, shrunk ${outcome.shrinks} times; replay with --seed ${outcome.seed} --runs ${outcome.runs})`,
  );
});
