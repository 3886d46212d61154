import { describe, test } from 'node:test';
import { KNOWN_CLIENTS } from '../src/cli/known-clients.ts';
import { runKit } from './support/kit.ts';
import { assertGradedEndToEnd } from './support/real-clients.ts';

// What each real client scores is a finding (npm run grade:known), not an expectation: these tests
// prove that each adapter runs its client end to end under the kit and yields a complete report.
describe('real clients through their adapters', () => {
  // Those graded with kit options (--intercept: rclone, the recipe with Box's URL) are in intercept-clients.test.ts.
  for (const client of KNOWN_CLIENTS.filter((known) => known.kitArgs === undefined)) {
    test(`${client.name}: graded end to end, every client rule judged`, async () => {
      assertGradedEndToEnd(await runKit(['--client', client.command]));
    });
  }
});
