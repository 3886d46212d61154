import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { KitError } from '../errors.ts';
import {
  type CucumberEnvelope,
  type ScenarioResult,
  ScenarioCollector,
  countRules,
  exitCodeFor,
  gradeRules,
  clientRunsOf,
  kitErrorOf,
  markExpectedFailures,
  scenariosFromMessages,
  verdictOf,
} from '../grader/results.ts';
import { type ConformanceReport, consoleSummary, writeReports } from '../grader/reports.ts';
import { type ReproductionContext, withReproductions } from '../grader/reproduction.ts';
import { type Transport, undiciTransport } from '../http/transport.ts';
import { DEFAULT_ANSWER_BUDGET_MS } from '../probe/budget.ts';
import type { ServerDepth, ServerTarget } from '../probe/probe.ts';
import { rulesFor } from '../protocol/rules.ts';
import { type Recording, readRecording, recordingTransport, writeRecording } from '../record/recording.ts';
import { startSimulatedServer } from '../server/app.ts';
import { setServerTarget } from './server-target.ts';
import { couldNotRunReason } from './silent-client.ts';
import { clearPlannedScenarios, planScenario } from './situations.ts';
import type { KitWorldParameters } from './world-parameters.ts';
import type { InterceptVia } from '../intercept/evidence.ts';

export const KIT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface RemoteServer {
  baseUrl: string;
  token: string;
  folderId: string;
  /** Where the kit deletes the files it committed. */
  apiBaseUrl: string;
  /** Record every exchange into this directory. */
  record?: string;
}

export interface ConformanceOptions {
  /** The client under test; the reference uploader (in-process) when absent. Grades the client side only. */
  clientCommand?: string;
  /** A server to grade (server side only); the embedded simulated server when neither this nor replay is given. */
  server?: RemoteServer;
  /** Grade the server side again from a recording directory, offline. */
  replay?: string;
  reportDir: string;
  /** A Cucumber tag expression narrowing the scenarios. */
  tags?: string;
  strict: boolean;
  /** Include the @generated scenarios: this many cases, from this fast-check seed (random when absent). */
  generated?: { runs: number; seed?: number };
  /** Include the @slow scenarios (multi-GiB files), and draw generated cases at Box's part sizes too. */
  large?: boolean;
  /** Rule ids the implementation knowingly fails (--expect-failures). */
  expectedFailures?: readonly string[];
  /** Per client run. */
  timeoutMs: number;
  /** Per server answer, 429 and 202 Retry-After waits included (default 120 s): --timeout for server runs. */
  answerTimeoutMs?: number;
  /** Run the client command as it ships, calling Box's own hosts, answered by the kit (--intercept): in a network namespace of its own, or through a proxy. */
  intercept?: InterceptVia;
  /** part_size of the client runs (--part-size); each scenario's own when absent. */
  partSize?: number;
  /** How widely a server's probe spaces are covered (--server-depth). */
  serverDepth?: ServerDepth;
  /** The generated sequences' seed (--server-seed). */
  serverSeed?: number;
  /** Progress and summary lines. */
  print: (line: string) => void;
}

export interface ConformanceOutcome {
  report: ConformanceReport;
  exitCode: 0 | 1 | 2;
  /** Why the kit itself could not run, when exitCode is 2. */
  kitError?: string;
  scenarios: ScenarioResult[];
}

const SYMBOL = { passed: '✓', failed: '✗', skipped: '-' } as const;

async function kitVersion(): Promise<{ name: string; version: string }> {
  const manifest = JSON.parse(await readFile(join(KIT_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return { name: manifest.name, version: manifest.version };
}

/** The server side's target for this run, and what to do when the run ends. */
interface ServerSide {
  target: ServerTarget;
  name: string;
  finish(kit: { name: string; version: string }): Promise<string | undefined>;
}

const randomId = (bytes: number) => randomBytes(bytes).toString('hex');

/** Parts the embedded simulated server hands out when it is graded: small, so that paging past a default page of 100 parts stays cheap. */
const EMBEDDED_PART_SIZE = 256 * 1024;

async function serverSide(options: ConformanceOptions): Promise<ServerSide> {
  const answerBudgetMs = options.answerTimeoutMs ?? DEFAULT_ANSWER_BUDGET_MS;
  if (options.replay !== undefined) {
    const recording = await readRecording(resolve(options.replay));
    const { REPLAY_TOKEN, replayTransport } = await import('../record/replay.ts');
    const transport = await replayTransport(recording);
    const target: ServerTarget = {
      baseUrl: recording.provenance.server,
      apiBaseUrl: recording.provenance.apiBaseUrl,
      token: REPLAY_TOKEN,
      folderId: recording.run.folderId,
      namePrefix: recording.run.namePrefix,
      seed: recording.run.seed,
      transport,
      answerBudgetMs,
    };
    return {
      target,
      name: `${recording.provenance.server} (replayed from ${options.replay}, recorded ${recording.provenance.recordedAt})`,
      finish: async () => {
        await transport.close();
        return undefined;
      },
    };
  }
  const run = { seed: randomId(8), namePrefix: `conformance-${randomId(3)}-`, folderId: options.server?.folderId ?? '0' };
  if (options.server) {
    const remote = options.server;
    const live = undiciTransport({ connections: 8, timeoutMs: answerBudgetMs });
    const reachable = await live.send({ method: 'GET', url: remote.baseUrl, headers: {} });
    if (!reachable.ok) {
      await live.close();
      throw new KitError(`cannot reach ${remote.baseUrl}: ${reachable.failure}`);
    }
    const recorder = remote.record === undefined ? undefined : recordingTransport(live, remote.token, [remote.token]);
    const transport: Transport = recorder ?? live;
    return {
      target: { baseUrl: remote.baseUrl, apiBaseUrl: remote.apiBaseUrl, token: remote.token, transport, answerBudgetMs, ...run },
      name: remote.baseUrl,
      finish: async (kit) => {
        await transport.close();
        if (!recorder || remote.record === undefined) return undefined;
        const recording: Recording = {
          format: 'box-conformance-recording/1',
          provenance: { recordedAt: new Date().toISOString(), server: remote.baseUrl, apiBaseUrl: remote.apiBaseUrl, kit, node: process.version },
          run,
          exchanges: recorder.exchanges,
        };
        return writeRecording(resolve(remote.record), recording);
      },
    };
  }
  const token = randomId(16);
  // Files of any size: the probe's files are then a few parts each, not Box's 20 MB (one is over it, as Box's are).
  const server = await startSimulatedServer({ token, partSize: EMBEDDED_PART_SIZE, minFileSize: 1 });
  const transport = undiciTransport({ connections: 8, timeoutMs: answerBudgetMs });
  return {
    target: { baseUrl: server.baseUrl, apiBaseUrl: server.baseUrl, token, transport, answerBudgetMs, ...run },
    name: 'the embedded simulated server',
    finish: async () => {
      await transport.close();
      await server.close();
      return undefined;
    },
  };
}

/**
 * The tag expression Cucumber runs: the user's, without the scenarios that are only run when asked for.
 * Generated cases are many client runs (--generated); @slow scenarios upload files of several GiB
 * (--large, or a --tags expression that names @slow).
 */
export function scenarioTags(options: Pick<ConformanceOptions, 'tags' | 'generated' | 'large'>): string {
  const leftOut = [...(options.generated ? [] : ['not @generated']), ...(options.large || /@slow\b/.test(options.tags ?? '') ? [] : ['not @slow'])];
  return [...(options.tags ? [`(${options.tags})`] : []), ...leftOut].join(' and ');
}

/** Grades a client, a server or both against their rules, writes the reports, and says what the exit code is. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceOutcome> {
  const started = performance.now();
  const gradesClient = options.server === undefined && options.replay === undefined;
  const gradesServer = options.clientCommand === undefined;
  const reportDir = resolve(options.reportDir);
  await mkdir(reportDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'box-conformance-'));
  process.env.KIT_WORK_DIR = workDir;
  const kit = await kitVersion();
  const server = gradesServer ? await serverSide(options) : undefined;
  setServerTarget(
    server && {
      ...server.target,
      depth: options.serverDepth ?? 'default',
      ...(options.serverSeed === undefined ? {} : { sequenceSeed: options.serverSeed }),
    },
  );
  const worldParameters: KitWorldParameters = {
    client: options.clientCommand === undefined ? { kind: 'reference' } : { kind: 'command', command: options.clientCommand },
    timeoutMs: options.timeoutMs,
    intercept: options.intercept ?? null,
    partSize: options.partSize ?? null,
    token: randomId(16),
    folderId: '0',
    seed: randomId(8),
    workDir,
    generated: { runs: options.generated?.runs ?? 0, seed: options.generated?.seed ?? randomBytes(4).readUInt32BE() >>> 1 },
    large: options.large ?? false,
  };
  const tags = scenarioTags(options);
  const paths = [...(gradesClient ? ['features/client/**/*.feature'] : []), ...(gradesServer ? ['features/server/**/*.feature'] : [])];
  const { runConfiguration } = await loadConfiguration(
    {
      provided: {
        paths: paths.map((path) => join(KIT_ROOT, path)),
        import: [join(KIT_ROOT, 'steps/**/*.ts')],
        format: [`message:${join(reportDir, 'messages.ndjson')}`, `html:${join(reportDir, 'cucumber.html')}`],
        tags,
        worldParameters,
        strict: true,
      },
    },
    { cwd: KIT_ROOT },
  );
  const collector = new ScenarioCollector(
    (scenario) =>
      options.print(
        `  ${SYMBOL[scenario.status]} ${scenario.rules.join(' ').padEnd(24)} ${scenario.name}${scenario.status === 'failed' ? `\n      ${scenario.message}` : ''}`,
      ),
    { decodeEvidence: false },
  );
  // Every test case is announced before the first starts: the client steps start the runs that mostly wait early.
  clearPlannedScenarios();
  const pickles = new Map<string, string[]>();
  const plan = (envelope: { pickle?: { id: string; steps?: readonly { text: string }[] }; testCase?: { pickleId: string } }) => {
    if (envelope.pickle)
      pickles.set(
        envelope.pickle.id,
        (envelope.pickle.steps ?? []).map((step) => step.text),
      );
    const steps = envelope.testCase && pickles.get(envelope.testCase.pickleId);
    if (steps) planScenario(steps);
  };
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  let recordingPath: string | undefined;
  try {
    await runCucumber(runConfiguration, { cwd: KIT_ROOT, stdout: discard, stderr: process.stderr }, (envelope) => {
      plan(envelope as Parameters<typeof plan>[0]);
      collector.accept(envelope as CucumberEnvelope);
    });
  } finally {
    clearPlannedScenarios();
    setServerTarget(undefined);
    recordingPath = await server?.finish(kit);
  }

  // Every report derives from the message stream Cucumber wrote, not from what this process saw live.
  const scenarios = scenariosFromMessages(await readFile(join(reportDir, 'messages.ndjson'), 'utf8'));
  const graded = markExpectedFailures(
    gradeRules([...(gradesClient ? rulesFor('client') : []), ...(gradesServer ? rulesFor('server') : [])], scenarios),
    new Set(options.expectedFailures ?? []),
  );
  const reproduction: ReproductionContext = {
    installed: basename(process.argv[1] ?? '').startsWith('box-upload-'),
    serverScript: relative(process.cwd(), join(KIT_ROOT, 'bin', 'box-upload-server.mjs')),
    clientCommand: options.clientCommand,
    server: options.server
      ? { kind: 'remote', baseUrl: options.server.baseUrl, folderId: options.server.folderId, apiBaseUrl: options.server.apiBaseUrl }
      : options.replay !== undefined
        ? { kind: 'replay', dir: options.replay }
        : { kind: 'embedded' },
    partSize: options.partSize,
    intercept: options.intercept,
    secrets: [worldParameters.token, ...(server ? [server.target.token] : [])],
  };
  const rules = withReproductions(graded, scenarios, clientRunsOf(scenarios), reproduction);
  const clientName = options.clientCommand ?? 'reference uploader (in-process)';
  const report: ConformanceReport = {
    kit,
    target:
      gradesClient && gradesServer
        ? { kind: 'client+server', name: `${clientName}; ${server?.name}` }
        : gradesClient
          ? { kind: 'client', name: clientName }
          : { kind: 'server', name: server?.name ?? '' },
    verdict: verdictOf(rules),
    summary: countRules(rules),
    rules,
    generatedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
  await writeReports(reportDir, report, scenarios);
  const kitError = kitErrorOf(scenarios) ?? (gradesClient ? couldNotRunReason(scenarios.map((scenario) => scenario.evidence)) : undefined);
  options.print('');
  if (recordingPath) options.print(`recorded ${recordingPath}`);
  // A verdict on a client that could not run would say nothing about it.
  if (!kitError) options.print(consoleSummary(report));
  return { report, exitCode: kitError ? 2 : exitCodeFor(rules, options.strict), kitError, scenarios };
}
