import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KNOWN_CLIENTS } from '../src/cli/known-clients.ts';
import { rulesFor } from '../src/protocol/rules.ts';
import { runKit } from './support/kit.ts';

// What each real client scores is a finding (npm run grade:known), not an expectation: these tests
// prove that each adapter runs its client end to end under the kit and yields a complete report.
describe('real clients through their adapters', () => {
  // Those graded with kit options (--intercept: rclone, the recipe with Box's URL) are in intercept-clients.test.ts.
  for (const client of KNOWN_CLIENTS.filter((known) => known.kitArgs === undefined)) {
    test(`${client.name}: graded end to end, every client rule judged`, async () => {
      const { code, report, stderr } = await runKit(['--client', client.command]);
      assert.notEqual(code, 2, `the kit could not run the adapter: ${stderr}`);
      assert.ok(report, stderr);
      assert.deepEqual(
        report.rules.map((rule) => rule.id),
        rulesFor('client').map((rule) => rule.id),
      );
      assert.ok(
        report.rules.every((rule) => rule.status !== 'skipped'),
        `skipped: ${report.rules.filter((rule) => rule.status === 'skipped').map((rule) => rule.id)}`,
      );
      // The plain upload worked: the client opened a session, sent every part and committed.
      for (const id of ['C-CREATE', 'C-AUTH', 'C-PART-SIZE', 'C-DIGEST', 'C-COVERAGE', 'C-COMMIT-DIGEST']) {
        assert.equal(report.rules.find((rule) => rule.id === id)?.status, 'passed', `${id}: ${report.rules.find((rule) => rule.id === id)?.evidence}`);
      }
      assert.equal(code, report.verdict === 'non-conformant' ? 1 : 0);
    });
  }
});
