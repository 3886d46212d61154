// Section 1: generated requests, valid and malformed, many at once, against `npm run server` in another
// process. Cases come from fast-check arbitraries (seeded, so a run can be repeated); each is sent as
// raw bytes and its answer judged against what every request is owed: an answer within 10 s, never a
// 5xx but the injected faults, Box's error JSON on every error, and a kept-alive connection that answers
// the next request.
//
// The section's face: the run's state and the cases it handles are generated-run.ts; the cases themselves
// generated-cases.ts; the malformed ones' bytes generated-wire.ts; the live sessions generated-live.ts.
import type { SectionResult } from './figures.ts';
import { type GeneratedOptions, GeneratedRun } from './generated-run.ts';

export { type GeneratedOptions, INJECTED_FAULTS, INVARIANTS } from './generated-run.ts';

export async function generatedSection(options: GeneratedOptions): Promise<SectionResult> {
  const run = await GeneratedRun.start(options);
  await run.openSlowLoris();
  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => run.worker(id)));
  const seconds = (performance.now() - run.started) / 1000;
  return run.finish(seconds, run.closeSlowLoris());
}
