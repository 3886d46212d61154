import { rm } from 'node:fs/promises';
import { AfterAll, Before, type IWorldOptions, World, setWorldConstructor } from '@cucumber/cucumber';
import type { ClientUnderTest } from '../../src/adapters/client.ts';
import { commandClient } from '../../src/adapters/command.ts';
import { KitError, reportKitErrors } from '../../src/errors.ts';
import { referenceClient } from '../../src/adapters/reference.ts';
import { type RecordedRun, type RunContext, type RunSetup, forgetSources, runClientOnce } from '../../src/kit/client-run.ts';
import { type GeneratedOutcome, checkGeneratedCases } from '../../src/kit/generated.ts';
import type { KitWorldParameters } from '../../src/kit/world-parameters.ts';
import { newSetup, plannedScenarios, plannedWaitSeconds, setupOf } from '../../src/kit/situations.ts';
import type { Interceptor } from '../../src/intercept/interceptor.ts';

/** One run per distinct setup: scenarios that put the client in the same situation judge the same run. */
const runs = new Map<string, Promise<RecordedRun>>();
let generated: Promise<GeneratedOutcome> | undefined;
let client: ClientUnderTest | undefined;
/** --intercept: the run's CA, made once (loaded only then). */
let interceptor: Promise<Interceptor> | undefined;
let waitingRunsStarted = false;
/** A run whose Retry-After waits add up to this many seconds or more starts as soon as the client scenarios begin. */
const EARLY_START_WAIT_S = 2;

function clientFor(parameters: KitWorldParameters): ClientUnderTest {
  client ??= parameters.client.kind === 'command' ? commandClient(parameters.client.command) : referenceClient();
  return client;
}

export class KitWorld extends World<KitWorldParameters> {
  setup: RunSetup = newSetup();
  recorded?: RecordedRun;

  constructor(options: IWorldOptions<KitWorldParameters>) {
    super(options);
  }

  async uploadWithClient(): Promise<RecordedRun> {
    this.recorded = await reportKitErrors(this.attach, this.runFor(this.setup));
    return this.recorded;
  }

  /** The run of `setup`, started now unless it was already. */
  runFor(setup: RunSetup): Promise<RecordedRun> {
    const key = JSON.stringify(setup);
    let pending = runs.get(key);
    if (!pending) {
      pending = runClientOnce(clientFor(this.parameters), setup, this.runContext());
      // Awaited by its scenario; a run started early must not fail the process before that.
      pending.catch(() => undefined);
      runs.set(key, pending);
    }
    return pending;
  }

  /**
   * Starts, beside the scenarios Cucumber runs one after another, every planned run in which a correct
   * client spends seconds waiting out Retry-After: those runs mostly wait, so they add little load, and
   * the kit's run takes about as long as its longest wait instead of the sum of them.
   */
  startWaitingRuns(): void {
    if (waitingRunsStarted) return;
    waitingRunsStarted = true;
    for (const steps of plannedScenarios()) {
      const setup = setupOf(steps, this.parameters.partSize);
      if (setup.fileSize > 0 && plannedWaitSeconds(setup) >= EARLY_START_WAIT_S) void this.runFor(setup);
    }
  }

  runContext(): RunContext {
    const { parameters } = this;
    const via = parameters.intercept;
    if (via) interceptor ??= import('../../src/intercept/interceptor.ts').then(({ createInterceptor }) => createInterceptor(parameters.workDir, via));
    return {
      workDir: parameters.workDir,
      token: parameters.token,
      folderId: parameters.folderId,
      timeoutMs: parameters.timeoutMs,
      seed: parameters.seed,
      intercept: interceptor,
    };
  }

  /** The generated-case check, run once per process for all the scenarios that judge it. */
  generatedOutcome(): Promise<GeneratedOutcome> {
    const { runs: count, seed } = this.parameters.generated;
    if (count >= 1)
      generated ??= checkGeneratedCases(clientFor(this.parameters), this.runContext(), {
        runs: count,
        seed,
        partSize: this.parameters.partSize ?? undefined,
        large: this.parameters.large,
      });
    const outcome = generated ?? Promise.reject(new KitError('no generated cases were asked for: run with --generated or --runs <n>'));
    return reportKitErrors(this.attach, outcome);
  }
}

setWorldConstructor(KitWorld);

Before({ tags: '@client' }, function (this: KitWorld) {
  this.startWaitingRuns();
});

AfterAll(async function () {
  await Promise.allSettled(runs.values());
  waitingRunsStarted = false;
  runs.clear();
  generated = undefined;
  forgetSources();
  client = undefined;
  interceptor = undefined;
  const dir = process.env.KIT_WORK_DIR;
  if (dir) await rm(dir, { recursive: true, force: true });
});
