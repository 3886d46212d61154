import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConformanceReport } from '../../src/grader/reports.ts';
import { CLIENT_RULE_IDS } from '../../src/protocol/rules.ts';
import { validReport } from './report-schema.ts';

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
  const text = await readFile(join(reportDir, 'conformance.json'), 'utf8').catch(() => undefined);
  // Every report any test produces must match the published schema.
  const report = text === undefined ? undefined : validReport(JSON.parse(text));
  return { code, stdout, stderr, report, reportDir };
}

export const rulesWithStatus = (report: ConformanceReport | undefined, status: string) =>
  (report?.rules ?? [])
    .filter((rule) => rule.status === status)
    .map((rule) => rule.id)
    .sort();

export const failedRules = (report: ConformanceReport | undefined) => rulesWithStatus(report, 'failed');

export const HTTP_VARIANTS_CLIENT = 'node test/fixtures/clients/http-variants-client.mjs';

/** Every client rule but these. */
const allClientRulesBut = (...kept: string[]) => CLIENT_RULE_IDS.filter((id) => !kept.includes(id));

/**
 * Each deliberate defect of the minimal client, and the rules it breaks. Most break one; where a single
 * mistake necessarily breaks two rules (a range end one too far is both a bad bound and a range that
 * disagrees with its body), both are named. `blocked`, where given, is exactly the set of rules reported
 * blocked: never observed, because the defect stopped every run that could show them.
 */
/** What a client that never gets a part stored stops: every rule judged on parts, commits and waits. */
const STOPPED_BEFORE_ANY_PART = [
  'C-COVERAGE',
  'C-PARALLEL-MIN',
  'C-RETRY',
  'C-RETRY-FIRST',
  'C-OVERLAP-NOT-PERSISTED',
  'C-COMMIT-PARTS',
  'C-COMMIT-SORTED',
  'C-COMMIT-DIGEST',
  'C-COMMIT-RETRY-AFTER',
  'C-RATE-LIMIT',
  'C-RECOVER-STORED',
];

export const DEFECTS: readonly { defect: string; breaks: string[]; blocked?: string[] }[] = [
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
  // The classes of issue 9, as real implementations get them wrong.
  // The first request refused: nothing after it can be judged, but the token and the exit code were honest,
  // and a create answered 429 (before its body is read, as Box's rate limiter does) was waited out; the
  // commit answered 429 (issue 21's own run of it) was never reached, so C-RATE-LIMIT is blocked there.
  { defect: 'size-as-string', breaks: ['C-CREATE'], blocked: allClientRulesBut('C-CREATE', 'C-AUTH', 'C-SUCCESS-HONEST') },
  // A retry refused for its digest: C-DIGEST, and the retry rule blocked by it, not failed.
  { defect: 'stale-retry-digest', breaks: ['C-DIGEST'], blocked: ['C-RETRY'] },
  // A commit with a hole after range_overlaps_existing_part: C-COVERAGE, whatever the reason for the hole.
  // Where the range is held by a part stored despite its failed answer, the hole also keeps C-RECOVER-STORED from being judged.
  { defect: 'hole-after-overlap', breaks: ['C-COVERAGE'], blocked: ['C-RECOVER-STORED'] },
  // The same range sent again while the first copy is in flight: C-NO-OVERLAP, not the retry rules.
  { defect: 'hedged-tail', breaks: ['C-NO-OVERLAP'], blocked: [] },
  // Parts started out of order, visibly at the server.
  { defect: 'string-sorted-queue', breaks: ['C-ORDER'], blocked: [] },
  // Failures real uploaders met in production (issue 12).
  // Resends a part whose range the server holds from an attempt answered 500, until it gives up.
  { defect: 'no-recover', breaks: ['C-RECOVER-STORED'], blocked: [] },
  // Looks up "Retry-After" with exact case: the 429s on the create and the commit are retried at once.
  { defect: 'exact-case-retry-after', breaks: ['C-RATE-LIMIT'], blocked: [] },
  // Issue 21. Waits 2 s after every 429, whatever retry-after says: the 6-second waits are cut short.
  { defect: 'fixed-429-wait', breaks: ['C-RATE-LIMIT', 'C-RETRY'], blocked: [] },
  // Declares file_size one byte short; the server accepts the create and refuses every part for it, so
  // what the parts would have shown is blocked by C-CREATE, not failed.
  {
    defect: 'size-one-short',
    breaks: ['C-CREATE'],
    blocked: STOPPED_BEFORE_ANY_PART,
  },
  // A Digest value broken by a bare CR, which Node's HTTP parser refuses before any handler runs: the
  // request is recorded and judged all the same, as C-DIGEST's, and what the refusals stopped is blocked by it.
  {
    defect: 'cr-in-digest',
    breaks: ['C-DIGEST'],
    blocked: STOPPED_BEFORE_ANY_PART,
  },
  // The first two parts' bodies swapped (right lengths, other bytes): stored, then the commit is refused
  // for its digest; what that stopped is blocked by C-RANGE-FORMAT.
  { defect: 'swapped-bodies', breaks: ['C-RANGE-FORMAT'], blocked: ['C-RECOVER-STORED', 'C-RETRY'] },
];

export const MINIMAL_SERVER = 'test/fixtures/servers/minimal-server.mjs';

/**
 * How the self-test runs the minimal server: 256 KiB parts and a default page of 20 parts, so that a file
 * of 21 parts (5.5 MB) already holds more than one default page, and the file over 20 MB that the probe
 * sends as Box's smallest chunked upload holds 81. (1 MiB parts sent three times the bytes, 175 MB a run.)
 */
export const MINIMAL_SERVER_ARGS = ['--part-size', '262144', '--page', '20'];

/** Starts a server command (node script and arguments) as a real process; resolves once it prints its base URL. */
export async function startServerProcess(args: string[]): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n')[0];
      if (seen.includes('\n') && line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it listened`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { baseUrl, stop };
}
