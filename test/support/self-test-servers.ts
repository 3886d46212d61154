import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ConformanceReport } from '../../src/grader/reports.ts';
import { ruleById } from '../../src/protocol/rules.ts';
import { MINIMAL_SERVER, MINIMAL_SERVER_ARGS, failedRules, rulesWithStatus, runKit, startServerProcess } from './kit.ts';

/**
 * Each deliberate defect of the minimal server (`--defect NAME`), and the one rule it breaks. Some are seen
 * only outside their rule's own scenarios (commit-errors-plain: every error answer is judged for its shape);
 * some keep other rules from being observed at all (`blocked`: the exact set of rules reported blocked, by
 * the rule broken; none when absent).
 */
export const SERVER_DEFECTS: readonly { defect: string; breaks: string; blocked?: string[]; kitArgs?: string[] }[] = [
  { defect: 'wrong-total-parts', breaks: 'S-CREATE' },
  { defect: 'create-accepts-missing-folder', breaks: 'S-CREATE-REJECT' },
  { defect: 'sha1-base64', breaks: 'S-PART-OK' },
  { defect: 'part-offset-as-index', breaks: 'S-PART-OK' },
  { defect: 'storage-full-at-16-mib', breaks: 'S-PART-OK' },
  { defect: 'no-size-check', breaks: 'S-PART-SIZE-REJECT' },
  { defect: 'no-align-check', breaks: 'S-RANGE-ALIGN-REJECT' },
  { defect: 'range-500', breaks: 'S-RANGE-MALFORMED-REJECT' },
  { defect: 'no-digest-check', breaks: 'S-DIGEST-REJECT' },
  { defect: 'accepts-overlap', breaks: 'S-OVERLAP-REJECT' },
  { defect: 'overlap-overwrites-bytes', breaks: 'S-OVERLAP-REJECT' },
  { defect: 'list-ignores-paging', breaks: 'S-LIST-PARTS' },
  { defect: 'paging-needs-limit', breaks: 'S-LIST-PARTS' },
  { defect: 'status-stale', breaks: 'S-STATUS' },
  { defect: 'status-counts-received', breaks: 'S-STATUS' },
  { defect: 'file-sha1-wrong', breaks: 'S-COMMIT-OK' },
  { defect: 'commit-size-wrong', breaks: 'S-COMMIT-OK' },
  { defect: 'commit-digest-unchecked', breaks: 'S-COMMIT-DIGEST-REJECT' },
  { defect: 'commit-digest-optional', breaks: 'S-COMMIT-DIGEST-REJECT' },
  { defect: 'commit-with-hole', breaks: 'S-COMMIT-INCOMPLETE-REJECT' },
  { defect: 'abort-keeps-session', breaks: 'S-ABORT' },
  { defect: 'no-auth-check', breaks: 'S-AUTH' },
  { defect: 'auth-on-create-and-part-only', breaks: 'S-AUTH' },
  { defect: 'errors-without-request-id', breaks: 'S-ERROR-SHAPE' },
  { defect: 'commit-errors-plain', breaks: 'S-ERROR-SHAPE' },
  // Issue 20: each right on the example the kit used to send, and wrong next to it.
  // Sizes: right for every file size but an exact multiple of part_size.
  { defect: 'total-parts-floor-plus-one', breaks: 'S-CREATE' },
  { defect: 'commit-exact-multiple-refused', breaks: 'S-COMMIT-OK' },
  // Values: a create field empty, null or of the wrong JSON type.
  { defect: 'accepts-empty-file-name', breaks: 'S-CREATE-REJECT' },
  { defect: 'accepts-fractional-file-size', breaks: 'S-CREATE-REJECT' },
  { defect: 'accepts-null-folder', breaks: 'S-CREATE-REJECT' },
  { defect: 'accepts-string-file-size', breaks: 'S-CREATE-REJECT' },
  { defect: 'accepts-non-string-file-name', breaks: 'S-CREATE-REJECT' },
  // Root cause: without the `part` wrapper no part_id can be read, so whatever needs one later is blocked, not failed.
  { defect: 'part-no-wrapper', breaks: 'S-PART-OK' },
  { defect: 'sha1-uppercase', breaks: 'S-PART-OK' },
  // Positions: a check made for the first part, or skipped for the last.
  { defect: 'size-check-first-part-only', breaks: 'S-PART-SIZE-REJECT' },
  { defect: 'short-last-slot-accepted', breaks: 'S-PART-SIZE-REJECT' },
  { defect: 'align-check-skips-last', breaks: 'S-RANGE-ALIGN-REJECT' },
  { defect: 'overlap-last-slot-replaces', breaks: 'S-OVERLAP-REJECT' },
  // Ranges and digests: malformed next to missing or wrong.
  { defect: 'long-body-truncated', breaks: 'S-RANGE-MALFORMED-REJECT' },
  { defect: 'range-total-unchecked', breaks: 'S-RANGE-MALFORMED-REJECT' },
  { defect: 'digest-malformed-accepted', breaks: 'S-DIGEST-REJECT' },
  { defect: 'commit-digest-malformed-accepted', breaks: 'S-COMMIT-DIGEST-REJECT' },
  // Listing and counts: parts out of order, a page past the end, the short last part.
  { defect: 'list-contiguous-only', breaks: 'S-LIST-PARTS' },
  { defect: 'list-past-end-400', breaks: 'S-LIST-PARTS' },
  { defect: 'status-skips-short-last', breaks: 'S-STATUS' },
  // The commit list: a middle part left out with every part stored, a duplicate in place of another.
  { defect: 'commit-ignores-list', breaks: 'S-COMMIT-INCOMPLETE-REJECT' },
  { defect: 'commit-counts-entries', breaks: 'S-COMMIT-INCOMPLETE-REJECT' },
  // Time: graded within a bounded time, whatever the server does.
  // A 5 s answer budget: the first commit waits it out, and no later commit is waited for again.
  { defect: 'commit-202-forever', breaks: 'S-COMMIT-OK', kitArgs: ['--timeout', '5'] },
  { defect: 'commit-no-entries-wrapper', breaks: 'S-COMMIT-OK' },
  // After abort, and on every endpoint.
  { defect: 'abort-keeps-list', breaks: 'S-ABORT' },
  { defect: 'auth-scheme-unchecked', breaks: 'S-AUTH' },
  { defect: 'auth-abort-unchecked', breaks: 'S-AUTH' },
  { defect: 'unknown-session-html', breaks: 'S-ERROR-SHAPE' },
];

/**
 * Behaviour HTTP and Box allow, which must fail no rule: each entry is one run of the minimal server with
 * these arguments.
 */
export const SERVER_LEGAL_VARIANTS: readonly { name: string; args: string[] }[] = [
  // The first commit answered 202 with Retry-After 6 (longer than Cucumber's default step timeout), and a
  // 429 with Retry-After 1 on the first part, the first listing and the first commit.
  { name: 'slow commits and rate limits', args: ['--variant', 'slow-commit,rate-limit'] },
  {
    name: 'odd header case, chunked bodies, Connection: close, extra JSON fields, no download endpoint, a default page of 7',
    args: ['--variant', 'odd-case,chunked,connection-close,extra-fields,no-content', '--page', '7'],
  },
  // Session and file ids "1", "2", … (issue 20: an id that also occurs in the port must not be replaced there),
  // and Box's refusal of files under 20 MB.
  { name: 'short decimal ids, files under 20 MB refused', args: ['--variant', 'numeric-ids,small-file-refused'] },
  // Listing order is not part of S-LIST-PARTS; num_parts_processed may lag a stored part by 300 ms.
  { name: 'parts listed by descending offset, a status count that lags 300 ms', args: ['--variant', 'list-descending,status-lags'] },
  { name: 'the first two commits of every session answered 202 with Retry-After 1', args: ['--variant', 'commit-202-twice'] },
];

export const SELF_TEST_TOKEN = 'self-test-token-7f3a';

/** Grades the minimal server, started with `serverArgs`, as a real process on loopback. */
export async function gradeMinimalServer(serverArgs: string[], kitArgs: string[] = []) {
  const server = await startServerProcess([MINIMAL_SERVER, '--token', SELF_TEST_TOKEN, ...MINIMAL_SERVER_ARGS, ...serverArgs]);
  try {
    return await runKit(['--server', server.baseUrl, '--token', SELF_TEST_TOKEN, ...kitArgs]);
  } finally {
    await server.stop();
  }
}

export const notPassed = (report: ConformanceReport | undefined) =>
  (report?.rules ?? []).filter((rule) => rule.status !== 'passed').map((rule) => `${rule.id} ${rule.status}: ${rule.evidence}`);

/** The legal variants and the defects of `half` (0 or 1) of the tables, one test each. */
export function serverSelfTests(half: 0 | 1): void {
  SERVER_LEGAL_VARIANTS.filter((_, index) => index % 2 === half).forEach(({ name, args }) => {
    test(`legal behaviour fails no rule: ${name}`, async () => {
      const { code, report, stdout, stderr } = await gradeMinimalServer(args);
      assert.deepEqual(notPassed(report), [], stdout + stderr);
      assert.equal(code, 0);
    });
  });

  SERVER_DEFECTS.filter((_, index) => index % 2 === half).forEach(({ defect, breaks, blocked = [], kitArgs = [] }) => {
    test(`server defect "${defect}" is caught as ${breaks} and nothing else`, async () => {
      const { code, report, stderr, reportDir } = await gradeMinimalServer(['--defect', defect], kitArgs);
      assert.ok(report, `no report; stderr: ${stderr}`);
      const failed = report.rules.filter((rule) => rule.status === 'failed');
      assert.deepEqual(failedRules(report), [breaks], JSON.stringify(failed.map((rule) => [rule.id, rule.evidence])));
      assert.notEqual(failed[0]?.evidence, '');
      const must = ruleById(breaks)?.level === 'MUST';
      assert.equal(report.verdict, must ? 'non-conformant' : 'conformant-with-warnings');
      assert.equal(code, must ? 1 : 0);
      assert.doesNotMatch(JSON.stringify(report), new RegExp(SELF_TEST_TOKEN));
      // The report leads with the failure, its finding shown with the exchange it names, and its reproduction.
      const html = await readFile(join(reportDir, 'conformance.html'), 'utf8');
      const section = html.slice(html.indexOf(`id="failed-${breaks}"`), html.indexOf('<h2>Rules</h2>'));
      assert.match(section, /class="exchange culprit"/);
      assert.ok(failed[0]?.reproduction, `${breaks} has no reproduction`);
      assert.deepEqual(rulesWithStatus(report, 'blocked'), [...blocked].sort(), 'the rules reported blocked');
      for (const rule of report.rules.filter((entry) => entry.status === 'blocked')) assert.deepEqual(rule.blockedBy, [breaks], `${rule.id} is blocked`);
    });
  });
}
