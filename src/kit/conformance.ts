import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { KIT_ERROR_MARKER } from '../adapters/client.ts';
import { type CucumberEnvelope, type ScenarioResult, ScenarioCollector, countRules, exitCodeFor, gradeRules, verdictOf } from '../grader/results.ts';
import { type ConformanceReport, consoleSummary, writeReports } from '../grader/reports.ts';
import { rulesFor } from '../protocol/rules.ts';
import type { KitWorldParameters } from './world-parameters.ts';

export const KIT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ConformanceOptions {
  /** The client under test; the reference uploader (in-process) when absent. */
  clientCommand?: string;
  reportDir: string;
  /** A Cucumber tag expression narrowing the scenarios. */
  tags?: string;
  strict: boolean;
  /** Per client run. */
  timeoutMs: number;
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

/** Grades a client against every client rule, writes the reports, and says what the exit code is. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceOutcome> {
  const started = performance.now();
  const reportDir = resolve(options.reportDir);
  await mkdir(reportDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'box-conformance-'));
  process.env.KIT_WORK_DIR = workDir;
  const worldParameters: KitWorldParameters = {
    client: options.clientCommand === undefined ? { kind: 'reference' } : { kind: 'command', command: options.clientCommand },
    timeoutMs: options.timeoutMs,
    token: randomBytes(16).toString('hex'),
    folderId: '0',
    seed: randomBytes(8).toString('hex'),
    workDir,
  };
  const { runConfiguration } = await loadConfiguration(
    {
      provided: {
        paths: [join(KIT_ROOT, 'features/client/**/*.feature')],
        import: [join(KIT_ROOT, 'steps/**/*.ts')],
        format: [`message:${join(reportDir, 'messages.ndjson')}`, `html:${join(reportDir, 'cucumber.html')}`],
        tags: options.tags ?? '',
        worldParameters,
        strict: true,
      },
    },
    { cwd: KIT_ROOT },
  );
  const collector = new ScenarioCollector((scenario) =>
    options.print(
      `  ${SYMBOL[scenario.status]} ${scenario.rules.join(' ').padEnd(24)} ${scenario.name}${scenario.status === 'failed' ? `\n      ${scenario.message}` : ''}`,
    ),
  );
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  await runCucumber(runConfiguration, { cwd: KIT_ROOT, stdout: discard, stderr: process.stderr }, (envelope) => collector.accept(envelope as CucumberEnvelope));

  const rules = gradeRules(rulesFor('client'), collector.results);
  const report: ConformanceReport = {
    kit: await kitVersion(),
    target: { kind: 'client', name: options.clientCommand ?? 'reference uploader (in-process)' },
    verdict: verdictOf(rules),
    summary: countRules(rules),
    rules,
    generatedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
  await writeReports(reportDir, report);
  const kitError = collector.results.find((scenario) => scenario.message.includes(KIT_ERROR_MARKER))?.message.split(KIT_ERROR_MARKER)[1];
  options.print('');
  options.print(consoleSummary(report));
  return { report, exitCode: kitError ? 2 : exitCodeFor(rules, options.strict), kitError, scenarios: collector.results };
}
