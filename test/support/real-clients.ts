import assert from 'node:assert/strict';
import type { ConformanceReport } from '../../src/grader/reports.ts';
import { rulesFor } from '../../src/protocol/rules.ts';

/**
 * A real client graded end to end: the kit ran it, every client rule was judged (none skipped), the plain
 * upload worked (the client opened a session, sent every part and committed), and the exit code follows
 * the verdict. What else it scores is a finding (npm run grade:known), not an expectation.
 */
export function assertGradedEndToEnd(outcome: { code: number | null; report?: ConformanceReport; stderr: string }): ConformanceReport {
  const { code, report, stderr } = outcome;
  assert.notEqual(code, 2, `the kit could not run the client: ${stderr}`);
  assert.ok(report, stderr);
  assert.deepEqual(
    report.rules.map((rule) => rule.id),
    rulesFor('client').map((rule) => rule.id),
  );
  assert.ok(
    report.rules.every((rule) => rule.status !== 'skipped'),
    `skipped: ${report.rules.filter((rule) => rule.status === 'skipped').map((rule) => rule.id)}`,
  );
  for (const id of ['C-CREATE', 'C-AUTH', 'C-PART-SIZE', 'C-DIGEST', 'C-COVERAGE', 'C-COMMIT-DIGEST']) {
    assert.equal(report.rules.find((rule) => rule.id === id)?.status, 'passed', `${id}: ${report.rules.find((rule) => rule.id === id)?.evidence}`);
  }
  assert.equal(code, report.verdict === 'non-conformant' ? 1 : 0);
  return report;
}
