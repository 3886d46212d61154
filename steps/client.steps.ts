import { createHash } from 'node:crypto';
import { Given, Then, When } from '@cucumber/cucumber';
import { CLIENT_RUN_MEDIA_TYPE, clientRunAttachment } from '../src/grader/attachments.ts';
import { type Judgement, judgeClientRule } from '../src/grader/client-checks.ts';
import type { FaultAction } from '../src/server/faults.ts';
import { describeProxyLog } from '../src/intercept/evidence.ts';
import type { KitWorld } from './support/world.ts';

// --part-size replaces the scenario's own part size; every file below is described in parts of it.
Given('the server cuts files into parts of {int} bytes', function (this: KitWorld, partSize: number) {
  this.setup.partSize = this.parameters.partSize ?? partSize;
});

Given('a file of {int} bytes', function (this: KitWorld, size: number) {
  this.setup.fileSize = size;
});
Given('a file of {int} parts', function (this: KitWorld, parts: number) {
  this.setup.fileSize = parts * this.setup.partSize;
});
Given('a file of exactly {int} parts', function (this: KitWorld, parts: number) {
  this.setup.fileSize = parts * this.setup.partSize;
});
Given(/^a file of (\d+) parts and (\d+) bytes?$/, function (this: KitWorld, parts: string, bytes: string) {
  this.setup.fileSize = Number(parts) * this.setup.partSize + Number(bytes);
});

Given('the server answers every part after {int} ms', function (this: KitWorld, ms: number) {
  this.setup.faults.push({ op: 'part', action: { kind: 'delay', ms } });
});

const firstAttemptOf = (world: KitWorld, part: number, action: FaultAction) => world.setup.faults.push({ op: 'part', part, attempt: 1, action });

Given(/^the server answers part (\d+)'s first attempt with (5\d\d) after (\d+) ms$/, function (this: KitWorld, part: string, status: string, ms: string) {
  firstAttemptOf(this, Number(part), { kind: 'error', status: Number(status), afterMs: Number(ms) });
});
Given(
  /^the server answers part (\d+)'s first attempt with 429 and Retry-After (\d+) after (\d+) ms$/,
  function (this: KitWorld, part: string, seconds: string, ms: string) {
    firstAttemptOf(this, Number(part), { kind: 'rate-limit', retryAfter: Number(seconds), afterMs: Number(ms) });
  },
);
Given(/^the server answers part (\d+)'s first attempt with range_overlaps_existing_part after (\d+) ms$/, function (this: KitWorld, part: string, ms: string) {
  firstAttemptOf(this, Number(part), { kind: 'overlap', afterMs: Number(ms) });
});
Given(/^the server drops the connection halfway through part (\d+)'s first attempt$/, function (this: KitWorld, part: string) {
  firstAttemptOf(this, Number(part), { kind: 'drop' });
});
Given('the server answers the first {int} commits with 202 and Retry-After {int}', function (this: KitWorld, count: number, seconds: number) {
  for (let attempt = 1; attempt <= count; attempt++) this.setup.faults.push({ op: 'commit', attempt, action: { kind: 'retry-later', retryAfter: seconds } });
});
Given(/^the server answers every commit with (\d{3}) (\w+)$/, function (this: KitWorld, status: string, code: string) {
  this.setup.faults.push({ op: 'commit', action: { kind: 'error', status: Number(status), code } });
});

// No Cucumber time limit here: every adapter kills the client at the run's own --timeout.
When('the client uploads the file', { timeout: -1 }, async function (this: KitWorld) {
  const { outcome, run, setup, proxyLog } = await this.uploadWithClient();
  const exit = outcome.timedOut ? 'killed at the timeout' : `exit code ${outcome.exitCode}`;
  const proxy = proxyLog ? `\n--- through the proxy (--intercept) ---\n${describeProxyLog(proxyLog)}` : '';
  this.attach(
    `client ${exit} after ${outcome.durationMs.toFixed(0)} ms\n--- stdout ---\n${outcome.stdout}\n--- stderr ---\n${outcome.stderr}${proxy}`,
    'text/plain',
  );
  const runId = createHash('sha1').update(JSON.stringify(setup)).digest('hex').slice(0, 8);
  this.attach(JSON.stringify(clientRunAttachment(runId, run)), CLIENT_RUN_MEDIA_TYPE);
});

/** Each Then step states one rule; it passes, fails with the evidence, or is skipped with the reason. */
function judge(world: KitWorld, ruleId: string): 'skipped' | undefined {
  if (!world.recorded) throw new Error('no client run to judge: the When step did not run');
  const judgement: Judgement = judgeClientRule(ruleId, world.recorded.run);
  if (judgement.status === 'passed') return undefined;
  if (judgement.status === 'skipped') {
    world.attach(judgement.reason, 'text/plain');
    return 'skipped';
  }
  const [first, ...rest] = judgement.findings;
  if (rest.length > 0) world.attach(judgement.findings.join('\n'), 'text/plain');
  throw new Error(`${first}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}`);
}

const RULE_STEPS: readonly [string, string][] = [
  ["the client opened the session with POST /files/upload_sessions, naming the folder, the file name and the file's exact size", 'C-CREATE'],
  ['every request carried "Authorization: Bearer" and the token it was given', 'C-AUTH'],
  ['every part but the last had exactly part_size bytes, and the last 1 to part_size bytes', 'C-PART-SIZE'],
  ['every part carried "Content-Range: bytes <lo>-<hi>/<total>" and a body of hi-lo+1 bytes', 'C-RANGE-FORMAT'],
  ['every part started at a multiple of part_size', 'C-RANGE-ALIGN'],
  ['every part but the last ended at its offset plus part_size minus 1, and the last at the file size minus 1', 'C-RANGE-UPPER'],
  ['every Content-Range gave the file size as its total', 'C-RANGE-TOTAL'],
  ['every part carried "Digest: sha=<base64 SHA-1 of its body>"', 'C-DIGEST'],
  ['every part was sent as "Content-Type: application/octet-stream"', 'C-CONTENT-TYPE'],
  ['no part overlapped a range the server had already acknowledged', 'C-NO-OVERLAP'],
  ['when the client committed, every byte of the file had been acknowledged exactly once', 'C-COVERAGE'],
  ['no part started after a part with a higher offset had finished', 'C-ORDER'],
  ['at most 5 part uploads were in flight at any moment', 'C-PARALLEL-MAX'],
  ['at least 3 part uploads were in flight, on average, while 3 or more parts remained', 'C-PARALLEL-MIN'],
  ['every failed part was retried, after Retry-After where given, and the upload completed', 'C-RETRY'],
  ["no new part started between a part's failure and its retry", 'C-RETRY-FIRST'],
  ['the client never listed the refused part in a commit, nor reported success without it', 'C-OVERLAP-NOT-PERSISTED'],
  ['the commit listed each acknowledged part once, exactly as the server returned it', 'C-COMMIT-PARTS'],
  ['the commit listed the parts sorted by offset', 'C-COMMIT-SORTED'],
  ['every commit carried "Digest: sha=<base64 SHA-1 of the whole file>"', 'C-COMMIT-DIGEST'],
  ['after each 202 the client waited at least Retry-After seconds and committed again', 'C-COMMIT-RETRY-AFTER'],
  ['the client exited 0 if and only if the commit returned 201 and the stored file equals the source', 'C-SUCCESS-HONEST'],
];

for (const [text, ruleId] of RULE_STEPS) {
  // In a Cucumber expression "/" separates alternatives; these texts mean it literally.
  Then(text.replaceAll('/', '\\/'), function (this: KitWorld) {
    return judge(this, ruleId);
  });
}
