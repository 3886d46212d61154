import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { type ClientRun, findingsOf, judgeRun } from '../src/grader/client-checks.ts';
import type { FaultAction, FaultInstruction } from '../src/server/faults.ts';
import { parseContentRange } from '../src/protocol/content-range.ts';
import { recentLoopLagMs } from '../src/server/loop-lag.ts';
import { type Exchange, readAnswer } from '../src/server/recorder.ts';

// Synthetic runs: a 3-part file of 30 bytes in parts of 10, judged without a client or a server.
const PART = 10;
const SIZE = 30;
const bytesOf = (index: number) => Buffer.alloc(Math.min(PART, SIZE - index * PART), index + 1);
const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest();
const FILE_SHA1 = sha1(Buffer.concat([0, 1, 2].map(bytesOf))).toString('hex');
const DELAY: FaultInstruction = { op: 'part', action: { kind: 'delay', ms: 300 } };

interface PartOptions {
  at: number;
  end: number;
  status?: number;
  code?: string;
  digestOf?: number;
  fault?: FaultAction;
  /** How long the server's event loop had been held up just before the request's handler ran. */
  lag?: number;
}

class Traffic {
  readonly exchanges: Exchange[] = [];
  readonly #attempts = new Map<number, number>();
  #session: string | undefined;

  /** What follows belongs to upload session `id` (each part's attempts counted afresh). */
  session(id: string): this {
    this.#session = id;
    this.#attempts.clear();
    return this;
  }

  #push(exchange: Omit<Exchange, 'seq' | 'auth' | 'method' | 'url' | 'responseHeaders' | 'dropped' | 'clientAborted'> & Partial<Exchange>): Exchange {
    // What the recorder parses as it records an exchange.
    const range = parseContentRange(exchange.requestHeaders['content-range']);
    const full: Exchange = {
      ...(range.ok ? { range: range.value } : {}),
      ...(exchange.responseBody === undefined ? {} : { answer: readAnswer(exchange.responseBody) }),
      seq: this.exchanges.length + 1,
      auth: 'valid',
      method: 'PUT',
      url: '/api/2.0/files/upload_sessions/S',
      responseHeaders: {},
      dropped: false,
      clientAborted: false,
      ...(this.#session === undefined ? {} : { sessionId: this.#session }),
      ...exchange,
    };
    this.exchanges.push(full);
    return full;
  }

  create(): this {
    this.#push({
      op: 'create',
      method: 'POST',
      requestHeaders: { authorization: 'Bearer <redacted>' },
      startMs: 0,
      endMs: 1,
      requestBody: { length: 50, sha1: '', json: { folder_id: '0', file_name: 'f.bin', file_size: SIZE } },
      status: 201,
    });
    return this;
  }

  part(index: number, { at, end, status = 200, code, digestOf = index, fault, lag }: PartOptions): this {
    const body = bytesOf(index);
    const lo = index * PART;
    const attempt = (this.#attempts.get(index) ?? 0) + 1;
    this.#attempts.set(index, attempt);
    const record = { part_id: `P${index}`, offset: lo, size: body.length, sha1: sha1(body).toString('hex') };
    this.#push({
      op: 'part',
      requestHeaders: {
        authorization: 'Bearer <redacted>',
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${lo}-${lo + body.length - 1}/${SIZE}`,
        digest: `sha=${sha1(bytesOf(digestOf)).toString('base64')}`,
      },
      startMs: at,
      ...(lag === undefined ? {} : { startLagMs: lag }),
      endMs: end,
      requestBody: { length: body.length, sha1: sha1(body).toString('hex') },
      status,
      responseBody: status === 200 ? { part: record } : { type: 'error', status, code: code ?? 'error' },
      partNumber: index + 1,
      attempt,
      ...(fault ? { fault: { description: fault.kind, action: fault } } : {}),
    });
    return this;
  }

  commit(at: number, parts: number[], status = 201): this {
    this.#push({
      op: 'commit',
      method: 'POST',
      requestHeaders: { authorization: 'Bearer <redacted>', digest: `sha=${Buffer.from(FILE_SHA1, 'hex').toString('base64')}` },
      startMs: at,
      endMs: at + 5,
      requestBody: {
        length: 100,
        sha1: '',
        json: {
          parts: parts.map((index) => ({
            part_id: `P${index}`,
            offset: index * PART,
            size: bytesOf(index).length,
            sha1: sha1(bytesOf(index)).toString('hex'),
          })),
        },
      },
      status,
    });
    return this;
  }

  run(exitCode: number, faults: FaultInstruction[] = []): ClientRun {
    const committed = this.exchanges.some((exchange) => exchange.op === 'commit' && exchange.status === 201);
    return {
      fileSize: SIZE,
      fileSha1: FILE_SHA1,
      fileName: 'f.bin',
      folderId: '0',
      partSize: PART,
      traffic: this.exchanges,
      faults: faults.map((instruction) => ({ instruction, fired: 1 })),
      exit: { code: exitCode, timedOut: false },
      ...(committed ? { stored: { size: SIZE, sha1: FILE_SHA1 } } : {}),
    };
  }
}

const failedIn = (run: ClientRun) =>
  findingsOf(judgeRun(run, 'r'))
    .findings.map((finding) => finding.rule)
    .filter((rule, index, all) => all.indexOf(rule) === index)
    .sort();

describe('client checks on one run', () => {
  test('a clean run passes every rule it can show', () => {
    const run = new Traffic().create().part(0, { at: 2, end: 5 }).part(1, { at: 3, end: 6 }).part(2, { at: 4, end: 7 }).commit(8, [0, 1, 2]).run(0);
    assert.deepEqual(findingsOf(judgeRun(run, 'r')), { findings: [], blocked: [] });
  });

  test('the same range sent again while the first copy is in flight is C-NO-OVERLAP, not a failure to retry', () => {
    const run = new Traffic()
      .create()
      .part(0, { at: 2, end: 302 })
      .part(1, { at: 3, end: 303 })
      .part(1, { at: 50, end: 350, status: 416, code: 'range_overlaps_existing_part' })
      .part(2, { at: 320, end: 620 })
      .commit(630, [0, 1, 2])
      .run(0, [DELAY]);
    const judgement = judgeRun(run, 'r');
    assert.deepEqual(failedIn(run), ['C-NO-OVERLAP']);
    const verdict = judgement.verdicts['C-NO-OVERLAP'];
    assert.equal(verdict.status, 'failed');
    if (verdict.status === 'failed') assert.deepEqual(verdict.findings[0]?.requests, [3, 4]);
  });

  test('a retry of the same range after a failed attempt is no overlap; a resend after it was stored is', () => {
    const retried = new Traffic()
      .create()
      .part(0, { at: 2, end: 52, status: 503, fault: { kind: 'error', status: 503 } })
      .part(0, { at: 160, end: 460 })
      .part(1, { at: 3, end: 303 })
      .part(2, { at: 4, end: 304 })
      .commit(470, [0, 1, 2])
      .run(0, [DELAY]);
    assert.deepEqual(failedIn(retried), []);
    const resent = new Traffic()
      .create()
      .part(0, { at: 2, end: 5 })
      .part(1, { at: 3, end: 6 })
      .part(2, { at: 4, end: 7 })
      .part(0, { at: 8, end: 9, status: 416, code: 'range_overlaps_existing_part' })
      .commit(10, [0, 1, 2])
      .run(0);
    assert.deepEqual(failedIn(resent), ['C-NO-OVERLAP']);
  });

  test('a refusal tagged with a delay fault is still the server’s: the retry refused for its digest blocks C-RETRY on C-DIGEST', () => {
    const run = new Traffic()
      .create()
      .part(0, { at: 2, end: 302, fault: DELAY.action })
      .part(1, { at: 3, end: 53, status: 503, fault: { kind: 'error', status: 503 } })
      .part(2, { at: 4, end: 304, fault: DELAY.action })
      .part(1, { at: 160, end: 161, status: 400, code: 'bad_digest', digestOf: 2, fault: DELAY.action })
      .run(1, [DELAY, { op: 'part', part: 2, attempt: 1, action: { kind: 'error', status: 503 } }]);
    const judgement = judgeRun(run, 'r');
    assert.deepEqual(failedIn(run), ['C-DIGEST']);
    assert.deepEqual(judgement.verdicts['C-RETRY'], {
      status: 'blocked',
      blockedBy: ['C-DIGEST'],
      reason: judgement.verdicts['C-RETRY'].status === 'blocked' ? judgement.verdicts['C-RETRY'].reason : '',
    });
    assert.equal(judgement.verdicts['C-COVERAGE'].status, 'blocked');
    assert.equal(judgement.verdicts['C-SUCCESS-HONEST'].status, 'passed');
  });

  test('a commit with a hole fails C-COVERAGE whatever the reason; listing the refused range is C-OVERLAP-NOT-PERSISTED’s alone', () => {
    const overlap: FaultAction = { kind: 'overlap' };
    const traffic = () =>
      new Traffic()
        .create()
        .part(0, { at: 2, end: 302 })
        .part(1, { at: 3, end: 53, status: 416, code: 'range_overlaps_existing_part', fault: overlap })
        .part(2, { at: 4, end: 304 });
    const faults: FaultInstruction[] = [DELAY, { op: 'part', part: 2, attempt: 1, action: overlap }];
    assert.deepEqual(failedIn(traffic().commit(310, [0, 2], 400).run(1, faults)), ['C-COVERAGE']);
    assert.deepEqual(failedIn(traffic().commit(310, [0, 1, 2], 400).run(1, faults)), ['C-OVERLAP-NOT-PERSISTED']);
  });

  test('order: a lower part arriving a round after a higher one fails; arrivals within the tolerance do not', () => {
    const jitter = new Traffic()
      .create()
      .part(1, { at: 2, end: 302 })
      .part(0, { at: 150, end: 450 })
      .part(2, { at: 151, end: 451 })
      .commit(460, [0, 1, 2])
      .run(0);
    assert.deepEqual(failedIn(jitter), []);
    const round = new Traffic()
      .create()
      .part(2, { at: 2, end: 602 })
      .part(1, { at: 3, end: 603 })
      .part(0, { at: 605, end: 1205 })
      .commit(1210, [0, 1, 2])
      .run(0);
    assert.deepEqual(failedIn(round), ['C-ORDER']);
  });

  test('retry first: a part started on an answer read before the failure, or overtaken by an early failure, is no jump; one started a round later is', () => {
    const error: FaultAction = { kind: 'error', status: 503 };
    const faults: FaultInstruction[] = [DELAY, { op: 'part', part: 2, attempt: 1, action: error }];
    // Part 3 starts on part 1's answer, which the client read before part 2's failure (16 ms apart at the server).
    const readFirst = new Traffic()
      .create()
      .part(0, { at: 2, end: 300 })
      .part(1, { at: 10, end: 310, status: 503, fault: error })
      .part(2, { at: 326, end: 626 })
      .part(1, { at: 420, end: 720 })
      .commit(730, [0, 1, 2])
      .run(0, faults);
    assert.deepEqual(failedIn(readFirst), []);
    // Part 2 failed 2 ms after arriving: part 3, started with it, may arrive after the failure.
    const early = new Traffic()
      .create()
      .part(0, { at: 2, end: 302 })
      .part(1, { at: 3, end: 5, status: 503, fault: error })
      .part(2, { at: 190, end: 490 })
      .part(1, { at: 495, end: 795 })
      .commit(800, [0, 1, 2])
      .run(0, faults);
    assert.deepEqual(failedIn(early), []);
    assert.equal(judgeRun(early, 'r').verdicts['C-RETRY-FIRST'].status, 'not-applicable');
    // Part 3 starts on part 1's answer 290 ms after part 2 failed, and part 2 is retried last.
    const late = new Traffic()
      .create()
      .part(0, { at: 2, end: 600 })
      .part(1, { at: 3, end: 310, status: 503, fault: error })
      .part(2, { at: 601, end: 1201 })
      .part(1, { at: 1202, end: 1802 })
      .commit(1810, [0, 1, 2])
      .run(0, faults);
    assert.deepEqual(failedIn(late), ['C-RETRY-FIRST']);
    // The same times, but the server's event loop was held up 400 ms before part 3's handler ran: part 3 may have
    // reached the server within the tolerance of part 2's failure, and is not judged to jump the retry. Held up
    // 100 ms, part 3's handler ran 291 ms after the failure was answered, more than 150 + 100: judged as before.
    const heldUp = (lag: number) =>
      new Traffic()
        .create()
        .part(0, { at: 2, end: 600 })
        .part(1, { at: 3, end: 310, status: 503, fault: error })
        .part(2, { at: 601, end: 1201, lag })
        .part(1, { at: 1202, end: 1802 })
        .commit(1810, [0, 1, 2])
        .run(0, faults);
    assert.deepEqual(failedIn(heldUp(400)), []);
    assert.deepEqual(failedIn(heldUp(100)), ['C-RETRY-FIRST']);
  });

  test('a client that starts over in a new session after a failed commit: each session judged on its own', () => {
    const again = (traffic: Traffic, from: number) =>
      traffic
        .create()
        .part(0, { at: from + 2, end: from + 5 })
        .part(1, { at: from + 3, end: from + 6 })
        .part(2, { at: from + 4, end: from + 7 });
    const startedOver = again(again(new Traffic().session('A'), 0).commit(8, [0, 1, 2], 410).session('B'), 20)
      .commit(28, [0, 1, 2])
      .run(0);
    assert.deepEqual(failedIn(startedOver), []);
    // What the new session does wrong is still seen: its commit leaves out a record the server returned in it.
    const holed = again(again(new Traffic().session('A'), 0).commit(8, [0, 1, 2], 410).session('B'), 20)
      .commit(28, [0, 1])
      .run(0);
    assert.deepEqual(failedIn(holed), ['C-COMMIT-PARTS']);
    // Judged as one session, the second session's parts would be resends of stored ranges.
    const asOne = again(again(new Traffic(), 0).commit(8, [0, 1, 2], 410), 20)
      .commit(28, [0, 1, 2])
      .run(0);
    assert.ok(failedIn(asOne).includes('C-NO-OVERLAP'));
  });

  test('a client that stops after a 202 fails C-COMMIT-RETRY-AFTER alone: the commit fault left unfired concerns no other rule', () => {
    const later: FaultAction = { kind: 'retry-later', retryAfter: 1 };
    const run = new Traffic()
      .create()
      .part(0, { at: 2, end: 5 })
      .part(1, { at: 3, end: 6 })
      .part(2, { at: 4, end: 7 })
      .commit(8, [0, 1, 2], 202)
      .run(1, [
        { op: 'commit', attempt: 1, action: later },
        { op: 'commit', attempt: 2, action: later },
      ]);
    run.faults = run.faults.map((entry, index) => ({ ...entry, fired: index === 0 ? 1 : 0 }));
    const judgement = judgeRun(run, 'r');
    assert.deepEqual(failedIn(run), ['C-COMMIT-RETRY-AFTER']);
    assert.equal(judgement.verdicts['C-RETRY'].status, 'not-applicable');
    assert.equal(judgement.verdicts['C-SUCCESS-HONEST'].status, 'passed');
  });
});

describe("the kit's event-loop lag, recorded with each request", () => {
  test('a loop held up 300 ms is seen as held up at least that long, right after', async () => {
    recentLoopLagMs(); // starts the sampler
    await new Promise((resolve) => setTimeout(resolve, 50));
    const until = performance.now() + 300;
    while (performance.now() < until); // the loop held up, as a long synchronous job of another scenario would
    assert.ok(recentLoopLagMs() >= 250, String(recentLoopLagMs()));
  });
});
