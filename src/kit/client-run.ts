import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ClientOutcome, ClientUnderTest } from '../adapters/client.ts';
import { KitError } from '../errors.ts';
import { type ClientRun, type RunJudgement, judgeRun } from '../grader/client-checks.ts';
import { startSimulatedServer } from '../server/app.ts';
import type { FaultInstruction } from '../server/faults.ts';
import { rangeDigests } from './range-digests.ts';
import { silentRunAttachment } from './silent-client.ts';
import { writeSeededFile, writeSparseFile } from './source-file.ts';
import { type InterceptLog, noRequestProblem } from '../intercept/evidence.ts';
import type { Interceptor } from '../intercept/interceptor.ts';

/** The situation a client is put in: what a scenario's Given steps describe. */
export interface RunSetup {
  fileSize: number;
  partSize: number;
  faults: FaultInstruction[];
  /** A sparse source file (seeded bytes at a few offsets, holes elsewhere) instead of seeded bytes throughout. */
  sparseSource?: boolean;
  /** The server writes part files sparse, so runs of zeros cost no disk. */
  sparseParts?: boolean;
}

export interface RunContext {
  /** Where source files go. */
  workDir: string;
  token: string;
  folderId: string;
  /** Per client run, and per started GiB of the file for files over 1 GiB. */
  timeoutMs: number;
  seed: string;
  /** --intercept: the client calls Box's own hosts, answered by the kit. */
  intercept?: Promise<Interceptor>;
}

export interface RecordedRun {
  /** Names the run in findings and reports: the same set-up, the same id. */
  runId: string;
  setup: RunSetup;
  run: ClientRun;
  outcome: ClientOutcome;
  serverBaseUrl: string;
  /** The run judged on every client rule, once. */
  judgement: RunJudgement;
  /** With --intercept: where the client went, as the kit's endpoint on Box's hosts saw it. */
  interceptLog?: InterceptLog;
  /** How the source file's bytes are made (protocol/seeded-bytes.ts): what a reproduction needs to make them again. */
  source: SourceFile;
}

export interface SourceFile {
  seed: string;
  sparse: boolean;
  sha1: string;
}

/** The seed of a run's source file: one file per size in a kit run. */
export const fileSeedOf = (runSeed: string, fileSize: number) => `${runSeed}:${fileSize}`;

export function runIdOf(setup: RunSetup): string {
  return createHash('sha1').update(JSON.stringify(setup)).digest('hex').slice(0, 8);
}

const sources = new Map<string, Promise<{ path: string; sha1: string }>>();
let runCounter = 0;

function sourceFor(context: RunContext, size: number, sparse: boolean): Promise<{ path: string; sha1: string }> {
  const kind = sparse ? 'sparse' : 'source';
  const key = `${context.workDir}:${kind}:${size}`;
  let source = sources.get(key);
  if (!source) {
    const path = join(context.workDir, `${kind}-${size}.bin`);
    const write = sparse ? writeSparseFile : writeSeededFile;
    source = write(path, size, fileSeedOf(context.seed, size)).then(({ sha1 }) => ({ path, sha1 }));
    sources.set(key, source);
  }
  return source;
}

const GiB = 2 ** 30;

/** The run's time limit: --timeout, once per started GiB for files over 1 GiB (the @slow scenarios). */
export function runTimeoutMs(timeoutMs: number, fileSize: number): number {
  return timeoutMs * Math.max(1, Math.ceil(fileSize / GiB));
}

/** Runs a client once against a fresh simulated server set up as `setup` says, and keeps all it did. */
export async function runClientOnce(client: ClientUnderTest, setup: RunSetup, context: RunContext): Promise<RecordedRun> {
  const source = await sourceFor(context, setup.fileSize, setup.sparseSource === true);
  const server = await startSimulatedServer({ token: context.token, partSize: setup.partSize, minFileSize: 1, sparseParts: setup.sparseParts === true });
  try {
    server.setFaultPlan({ instructions: setup.faults });
    runCounter += 1;
    const fileName = `conformance-${process.pid}-${runCounter}.bin`;
    const intercepted = context.intercept ? await (await context.intercept).start(server) : undefined;
    let outcome: ClientOutcome;
    let interceptLog: InterceptLog | undefined;
    try {
      outcome = await client.upload({
        baseUrl: intercepted?.baseUrl ?? server.baseUrl,
        token: context.token,
        file: source.path,
        fileName,
        folderId: context.folderId,
        timeoutMs: runTimeoutMs(context.timeoutMs, setup.fileSize),
        intercept: intercepted?.access,
      });
    } finally {
      interceptLog = await intercepted?.finish();
    }
    const traffic = server.traffic();
    if (interceptLog && traffic.length === 0) {
      // One line: the kit's error is a single line wherever it is shown.
      const printed = silentRunAttachment(runIdOf(setup), outcome).lastLines.split('\n').slice(-3).join(' / ');
      throw new KitError(`${noRequestProblem(interceptLog)}${printed ? ` It printed: ${printed}` : ''}`);
    }
    const created = traffic.find((exchange) => exchange.op === 'commit' && exchange.status === 201);
    const fileId = created?.answer?.firstEntryId;
    const stored = fileId === undefined ? undefined : server.storedFile(fileId);
    const run: ClientRun = {
      fileSize: setup.fileSize,
      fileSha1: source.sha1,
      fileName,
      folderId: context.folderId,
      partSize: setup.partSize,
      traffic,
      faults: server.faultReport(),
      exit: { code: outcome.exitCode, timedOut: outcome.timedOut },
      stored: stored ? { size: stored.entry.size, sha1: stored.entry.sha1 } : undefined,
      rangeSha1: await rangeDigests(source.path, setup.fileSize, traffic),
    };
    const runId = runIdOf(setup);
    const sourceFile = { seed: fileSeedOf(context.seed, setup.fileSize), sparse: setup.sparseSource === true, sha1: source.sha1 };
    return { runId, setup, run, outcome, serverBaseUrl: server.baseUrl, interceptLog, judgement: judgeRun(run, runId), source: sourceFile };
  } finally {
    await server.close();
  }
}

export function forgetSources(): void {
  sources.clear();
}
