import { rm } from 'node:fs/promises';
import { AfterAll, type IWorldOptions, World, setWorldConstructor } from '@cucumber/cucumber';
import type { ClientUnderTest } from '../../src/adapters/client.ts';
import { KIT_ERROR_MARKER, KitError } from '../../src/adapters/client.ts';
import { commandClient } from '../../src/adapters/command.ts';
import { referenceClient } from '../../src/adapters/reference.ts';
import { type RecordedRun, type RunContext, type RunSetup, forgetSources, runClientOnce } from '../../src/kit/client-run.ts';
import { type GeneratedOutcome, checkGeneratedCases } from '../../src/kit/generated.ts';
import type { KitWorldParameters } from '../../src/kit/world-parameters.ts';
import type { Interceptor } from '../../src/intercept/interceptor.ts';

/** One run per distinct setup: scenarios that put the client in the same situation judge the same run. */
const runs = new Map<string, Promise<RecordedRun>>();
let generated: Promise<GeneratedOutcome> | undefined;
/** Runs (and the generated outcome) whose findings a scenario has attached already: each is reported once. */
const reported = new Set<string>();
let client: ClientUnderTest | undefined;
/** --intercept: the run's CA, made once (loaded only then). */
let interceptor: Promise<Interceptor> | undefined;

function clientFor(parameters: KitWorldParameters): ClientUnderTest {
  client ??= parameters.client.kind === 'command' ? commandClient(parameters.client.command) : referenceClient();
  return client;
}

export class KitWorld extends World<KitWorldParameters> {
  setup: RunSetup = { fileSize: 0, partSize: 8 * 1024 * 1024, faults: [] };
  recorded?: RecordedRun;

  constructor(options: IWorldOptions<KitWorldParameters>) {
    super(options);
  }

  async uploadWithClient(): Promise<RecordedRun> {
    const key = JSON.stringify(this.setup);
    let pending = runs.get(key);
    if (!pending) {
      pending = runClientOnce(clientFor(this.parameters), this.setup, this.runContext());
      runs.set(key, pending);
    }
    this.recorded = await asKitError(pending);
    return this.recorded;
  }

  /** True the first time it is asked for `key` in a kit run: that scenario attaches the shared findings. */
  firstToReport(key: string): boolean {
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  }

  runContext(): RunContext {
    const { parameters } = this;
    if (parameters.intercept)
      interceptor ??= import('../../src/intercept/interceptor.ts').then(({ createInterceptor }) => createInterceptor(parameters.workDir));
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
  async generatedOutcome(): Promise<GeneratedOutcome> {
    const { runs: count, seed } = this.parameters.generated;
    if (count < 1) throw new Error(`${KIT_ERROR_MARKER}no generated cases were asked for: run with --generated or --runs <n>`);
    generated ??= checkGeneratedCases(clientFor(this.parameters), this.runContext(), {
      runs: count,
      seed,
      partSize: this.parameters.partSize ?? undefined,
      large: this.parameters.large,
    });
    return asKitError(generated);
  }
}

/** A client that cannot be run at all is the kit's error (exit 2), not a failed rule. */
async function asKitError<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof KitError) throw new Error(`${KIT_ERROR_MARKER}${error.message}`, { cause: error });
    throw error;
  }
}

setWorldConstructor(KitWorld);

AfterAll(async function () {
  runs.clear();
  reported.clear();
  generated = undefined;
  forgetSources();
  client = undefined;
  interceptor = undefined;
  const dir = process.env.KIT_WORK_DIR;
  if (dir) await rm(dir, { recursive: true, force: true });
});
