/**
 * The client rules as pure checks over one run's recorded traffic. Every run is judged on every rule
 * (judgeRun): a rule whose statement the run shows is passed or failed there, with findings as data
 * ({rule, run, requests, message}); a rule the run cannot show is not applicable (the situation never
 * arose), or, when the client stopped before showing it, blocked by the rules whose failures stopped it.
 *
 * This module is the face; each job is its own module under client/: the run model (run.ts), shared
 * views of a run (view.ts), observations before a verdict (observation.ts), the checks table
 * (checks.ts), and verdict settling (verdicts.ts).
 */
export type { ClientRun, RunJudgement, RunVerdict } from './client/run.ts';
export { rangeKey } from './client/run.ts';
export { findingsOf, judgeRun, unfiredFaults } from './client/verdicts.ts';
