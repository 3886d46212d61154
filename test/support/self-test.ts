import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ruleById } from '../../src/protocol/rules.ts';
import { DEFECTS, MINIMAL_CLIENT, failedRules, rulesWithStatus, runKit } from './kit.ts';

/**
 * How many self-test cases of one file run at once, each a real kit process. A client case mostly waits
 * (server delays, Retry-After, 202s: about 10 s of wall time for 4 CPU-s, the kit and 17 client runs), so four
 * run beside each other; a server case waits less (the probe sends ~175 MB to a server that hashes it:
 * 2.4 CPU-s in 3 s), so three.
 */
export const CLIENT_SELF_TEST_CONCURRENCY = 4;
export const SERVER_SELF_TEST_CONCURRENCY = 3;

/** Grades the minimal client with each defect in `half` (0 or 1) of the table, one real process each. */
export function defectTests(half: 0 | 1): void {
  DEFECTS.filter((_, index) => index % 2 === half).forEach(({ defect, breaks, blocked }) => {
    test(`defect "${defect}" is caught as ${breaks.join(' + ')} and nothing else`, async () => {
      const { code, report, stderr } = await runKit(['--client', `${MINIMAL_CLIENT} --defect ${defect}`]);
      assert.ok(report, `no report; stderr: ${stderr}`);
      assert.deepEqual(
        failedRules(report),
        [...breaks].sort(),
        JSON.stringify(report.rules.filter((rule) => rule.status === 'failed').map((rule) => [rule.id, rule.evidence])),
      );
      const mustFailed = breaks.some((id) => ruleById(id)?.level === 'MUST');
      assert.equal(report.verdict, mustFailed ? 'non-conformant' : 'conformant-with-warnings');
      assert.equal(code, mustFailed ? 1 : 0);
      for (const rule of report.rules.filter((r) => r.status === 'failed')) assert.notEqual(rule.evidence, '', `${rule.id} failed without evidence`);
      if (blocked) assert.deepEqual(rulesWithStatus(report, 'blocked'), [...blocked].sort(), 'the rules reported blocked');
      for (const rule of report.rules.filter((r) => r.status === 'blocked')) {
        assert.ok(rule.blockedBy && rule.blockedBy.length > 0, `${rule.id} is blocked by nothing`);
        assert.ok(
          rule.blockedBy.every((id) => breaks.includes(id)),
          `${rule.id} is blocked by ${rule.blockedBy.join(', ')}, not by what the defect breaks`,
        );
      }
    });
  });
}
