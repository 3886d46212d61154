import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConformanceReport } from '../../src/grader/reports.ts';
import { ruleById } from '../../src/protocol/rules.ts';
import { MINIMAL_SERVER, MINIMAL_SERVER_ARGS, SERVER_DEFECTS, SERVER_LEGAL_VARIANTS, failedRules, rulesWithStatus, runKit, startServerProcess } from './kit.ts';

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

  SERVER_DEFECTS.filter((_, index) => index % 2 === half).forEach(({ defect, breaks, blocked = [] }) => {
    test(`server defect "${defect}" is caught as ${breaks} and nothing else`, async () => {
      const { code, report, stderr } = await gradeMinimalServer(['--defect', defect]);
      assert.ok(report, `no report; stderr: ${stderr}`);
      const failed = report.rules.filter((rule) => rule.status === 'failed');
      assert.deepEqual(failedRules(report), [breaks], JSON.stringify(failed.map((rule) => [rule.id, rule.evidence])));
      assert.notEqual(failed[0]?.evidence, '');
      const must = ruleById(breaks)?.level === 'MUST';
      assert.equal(report.verdict, must ? 'non-conformant' : 'conformant-with-warnings');
      assert.equal(code, must ? 1 : 0);
      assert.doesNotMatch(JSON.stringify(report), new RegExp(SELF_TEST_TOKEN));
      assert.deepEqual(rulesWithStatus(report, 'blocked'), [...blocked].sort(), 'the rules reported blocked');
      for (const rule of report.rules.filter((entry) => entry.status === 'blocked')) assert.deepEqual(rule.blockedBy, [breaks], `${rule.id} is blocked`);
    });
  });
}
