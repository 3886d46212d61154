import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConformanceReport } from '../../src/grader/reports.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const MINIMAL_CLIENT = 'node test/fixtures/clients/minimal-client.mjs';

/** Runs `npm run conformance -- <args>` as a real process (without npm's own start-up cost). */
export async function runKit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; report?: ConformanceReport; reportDir: string }> {
  const reportDir = await mkdtemp(join(tmpdir(), 'kit-reports-'));
  const child = spawn(process.execPath, ['--no-warnings', '--import', './src/register.mjs', 'src/cli/conformance.ts', '--report-dir', reportDir, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const report = await readFile(join(reportDir, 'conformance.json'), 'utf8')
    .then((text) => JSON.parse(text) as ConformanceReport)
    .catch(() => undefined);
  return { code, stdout, stderr, report, reportDir };
}

export const failedRules = (report: ConformanceReport | undefined) =>
  (report?.rules ?? [])
    .filter((rule) => rule.status === 'failed')
    .map((rule) => rule.id)
    .sort();

/**
 * Each deliberate defect of the minimal client, and the rules it breaks. Most break one; where a single
 * mistake necessarily breaks two rules (a range end one too far is both a bad bound and a range that
 * disagrees with its body), both are named.
 */
export const DEFECTS: readonly { defect: string; breaks: string[] }[] = [
  { defect: 'no-folder-id', breaks: ['C-CREATE'] },
  { defect: 'no-auth-on-commit', breaks: ['C-AUTH'] },
  { defect: 'half-parts', breaks: ['C-PART-SIZE', 'C-RANGE-UPPER'] },
  { defect: 'no-bytes-unit', breaks: ['C-RANGE-FORMAT'] },
  { defect: 'misaligned', breaks: ['C-RANGE-ALIGN'] },
  { defect: 'off-by-one-end', breaks: ['C-RANGE-FORMAT', 'C-RANGE-UPPER'] },
  { defect: 'wrong-total', breaks: ['C-RANGE-TOTAL'] },
  { defect: 'hex-digest', breaks: ['C-DIGEST'] },
  { defect: 'text-content-type', breaks: ['C-CONTENT-TYPE'] },
  { defect: 'resend-first-part', breaks: ['C-NO-OVERLAP'] },
  { defect: 'skip-last-part', breaks: ['C-COVERAGE'] },
  { defect: 'reversed-order', breaks: ['C-ORDER'] },
  { defect: 'ten-in-flight', breaks: ['C-PARALLEL-MAX'] },
  { defect: 'sequential', breaks: ['C-PARALLEL-MIN'] },
  { defect: 'no-retry', breaks: ['C-RETRY'] },
  { defect: 'retry-last', breaks: ['C-RETRY-FIRST'] },
  { defect: 'trust-overlap', breaks: ['C-OVERLAP-NOT-PERSISTED'] },
  { defect: 'drop-last-record', breaks: ['C-COMMIT-PARTS'] },
  { defect: 'commit-without-part-ids', breaks: ['C-COMMIT-PARTS'] },
  { defect: 'unsorted-commit', breaks: ['C-COMMIT-SORTED'] },
  { defect: 'no-commit-digest', breaks: ['C-COMMIT-DIGEST'] },
  { defect: 'ignore-retry-after', breaks: ['C-COMMIT-RETRY-AFTER'] },
  { defect: 'success-after-failed-commit', breaks: ['C-SUCCESS-HONEST'] },
];
