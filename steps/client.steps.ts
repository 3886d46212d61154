import { Given, Then, When } from '@cucumber/cucumber';
import { CLIENT_RUN_MEDIA_TYPE, SILENT_RUN_MEDIA_TYPE, clientRunAttachment } from '../src/grader/attachments.ts';
import { findingsOf } from '../src/grader/client-checks.ts';
import { FINDINGS_MEDIA_TYPE } from '../src/grader/findings.ts';
import {
  CLIENT_RULE_IDS,
  type ClientRuleId,
  ORDER_TOLERANCE_MS,
  PARALLEL_MAX,
  PARALLEL_MIN,
  PARALLEL_MIN_MEAN,
  RETRY_FIRST_TOLERANCE_MS,
} from '../src/protocol/rules.ts';
import { SITUATIONS } from '../src/kit/situations.ts';
import { describeInterceptLog, interceptHeading } from '../src/intercept/evidence.ts';
import { silentRunAttachment } from '../src/kit/silent-client.ts';
import type { KitWorld } from './support/world.ts';

// --part-size replaces the scenario's own part size; every file below is described in parts of it.
for (const { pattern, apply } of SITUATIONS) {
  const step = function (this: KitWorld, ...args: string[]) {
    apply(this.setup, args, this.parameters.partSize);
  };
  // Cucumber checks a step function's arity against the pattern's groups; a rest parameter has none.
  const groups = (new RegExp(`${pattern.source}|`).exec('')?.length ?? 1) - 1;
  Given(pattern, Object.defineProperty(step, 'length', { value: groups }));
}

// No Cucumber time limit here: every adapter kills the client at the run's own --timeout.
When('the client uploads the file', { timeout: -1 }, async function (this: KitWorld) {
  const { outcome, run, runId, judgement, interceptLog, source, setup } = await this.uploadWithClient();
  const exit = outcome.timedOut ? 'killed at the timeout' : `exit code ${outcome.exitCode}`;
  const proxy = interceptLog ? `\n--- ${interceptHeading(interceptLog.via)} ---\n${describeInterceptLog(interceptLog)}` : '';
  this.attach(
    `client ${exit} after ${outcome.durationMs.toFixed(0)} ms\n--- stdout ---\n${outcome.stdout}\n--- stderr ---\n${outcome.stderr}${proxy}`,
    'text/plain',
  );
  this.attach(JSON.stringify(clientRunAttachment(runId, run, source, setup.sparseParts === true)), CLIENT_RUN_MEDIA_TYPE);
  if (run.traffic.length === 0 && !outcome.timedOut) this.attach(JSON.stringify(silentRunAttachment(runId, outcome)), SILENT_RUN_MEDIA_TYPE);
  // The run judged on every rule, attached by each scenario that uses the run (the results count each finding once).
  const findings = findingsOf(judgement);
  if (findings.findings.length > 0 || findings.blocked.length > 0) this.attach(JSON.stringify(findings), FINDINGS_MEDIA_TYPE);
});

/** Each Then step states one rule: the run's verdict on it passes, fails with the evidence, or skips with the reason. */
function judge(world: KitWorld, ruleId: ClientRuleId): 'skipped' | undefined {
  if (!world.recorded) throw new Error('no client run to judge: the When step did not run');
  const { judgement } = world.recorded;
  const verdict = judgement.verdicts[ruleId];
  switch (verdict.status) {
    case 'passed':
      if (judgement.unfired.length === 0) return undefined;
      // Judged on what the client sent, but not in the situation this scenario describes.
      world.attach(`not judged here: the planned fault (${judgement.unfired.join('; ')}) never fired`, 'text/plain');
      return 'skipped';
    case 'not-applicable':
      world.attach(verdict.reason, 'text/plain');
      return 'skipped';
    case 'blocked':
      world.attach(`${verdict.reason} (blocked by ${verdict.blockedBy.join(', ')})`, 'text/plain');
      return 'skipped';
    case 'failed': {
      const [first, ...rest] = verdict.findings;
      if (rest.length > 0) world.attach(verdict.findings.map((finding) => finding.message).join('\n'), 'text/plain');
      throw new Error(`${first?.message}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}`);
    }
  }
}

/** The Then step that states each client rule, as the features write it. */
const RULE_STEPS: Readonly<Record<ClientRuleId, string>> = {
  'C-CREATE': "the client opened the session with POST /files/upload_sessions, naming the folder, the file name and the file's exact size",
  'C-AUTH': 'every request carried "Authorization: Bearer" and the token it was given',
  'C-PART-SIZE': 'every part but the last had exactly part_size bytes, and the last 1 to part_size bytes',
  'C-RANGE-FORMAT': 'every part carried "Content-Range: bytes <lo>-<hi>/<total>" and a body of hi-lo+1 bytes, the file\'s bytes lo to hi',
  'C-RANGE-ALIGN': 'every part started at a multiple of part_size',
  'C-RANGE-UPPER': 'every part but the last ended at its offset plus part_size minus 1, and the last at the file size minus 1',
  'C-RANGE-TOTAL': 'every Content-Range gave the file size as its total',
  'C-DIGEST': 'every part carried "Digest: sha=<base64 SHA-1 of its body>"',
  'C-CONTENT-TYPE': 'every part was sent as "Content-Type: application/octet-stream"',
  'C-NO-OVERLAP': 'no part overlapped another part the client sent, except a retry of the same range after its attempt failed',
  'C-COVERAGE': 'at every commit, every byte of the file had been acknowledged exactly once',
  'C-ORDER': `no part's first attempt arrived more than ${ORDER_TOLERANCE_MS} ms after the first attempt of a part with a higher offset`,
  'C-PARALLEL-MAX': `at most ${PARALLEL_MAX} part uploads were in flight at any moment`,
  'C-PARALLEL-MIN': `at least ${PARALLEL_MIN_MEAN} part uploads were in flight, on average, while ${PARALLEL_MIN} or more parts remained`,
  'C-RETRY': 'every failed part was retried, after Retry-After where given, and the upload completed',
  'C-RETRY-FIRST': `no part's first attempt arrived more than ${RETRY_FIRST_TOLERANCE_MS} ms after another part's failure and before its retry`,
  'C-OVERLAP-NOT-PERSISTED': 'the client never listed the refused part in a commit',
  'C-COMMIT-PARTS': 'the commit listed each acknowledged part once, exactly as the server returned it',
  'C-COMMIT-SORTED': 'the commit listed the parts sorted by offset',
  'C-COMMIT-DIGEST': 'every commit carried "Digest: sha=<base64 SHA-1 of the whole file>"',
  'C-COMMIT-RETRY-AFTER': 'after each 202 the client waited at least Retry-After seconds and committed again',
  'C-SUCCESS-HONEST': 'the client exited 0 if and only if the commit returned 201 and the stored file equals the source',
  'C-RATE-LIMIT': 'after each 429 to the create or the commit, the client waited at least Retry-After seconds and sent it again',
  'C-RECOVER-STORED': 'the client completed the upload with the part the server had stored, committing its record',
};

for (const ruleId of CLIENT_RULE_IDS) {
  // In a Cucumber expression "/" separates alternatives; these texts mean it literally.
  Then(RULE_STEPS[ruleId].replaceAll('/', '\\/'), function (this: KitWorld) {
    return judge(this, ruleId);
  });
}
