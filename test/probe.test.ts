import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { undiciTransport } from '../src/http/transport.ts';
import { judgeServerExchanges } from '../src/grader/server-findings.ts';
import { GaveUpWaiting } from '../src/errors.ts';
import { Blocked, ServerProbe } from '../src/probe/probe.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';

describe('the server probe', () => {
  let server: SimulatedServer;
  const transport = undiciTransport();
  const probeFor = (baseUrl = server.baseUrl, answerBudgetMs?: number) =>
    new ServerProbe({ baseUrl, apiBaseUrl: baseUrl, token: 'probe-token', folderId: '0', namePrefix: 'probe-', seed: 's', transport, answerBudgetMs }, 'T');

  before(async () => {
    server = await startSimulatedServer({ token: 'probe-token', partSize: 1024 * 1024 });
  });
  after(async () => {
    await transport.close();
    await server.close();
  });

  test('waits out 429 + Retry-After and asks again, keeping both answers, the 429 marked as waited out', async () => {
    server.setFaultPlan({ instructions: [{ op: 'part', part: 1, attempt: 1, action: { kind: 'rate-limit', retryAfter: 1 } }] });
    const probe = probeFor();
    const file = await probe.openSession();
    const started = performance.now();
    const answer = await probe.sendPart(file, 1);
    assert.equal(answer.status, 200);
    assert.ok(performance.now() - started >= 1000, 'resent before Retry-After');
    const [limited, stored] = probe.exchanges.slice(-2);
    assert.deepEqual([limited?.response?.status, limited?.waitedOut, stored?.response?.status, stored?.waitedOut], [429, true, 200, undefined]);
    assert.equal(probe.expectedParts(file).length, 1);
    server.setFaultPlan({ instructions: [] });
    assert.deepEqual(await probe.cleanUp(), []);
  });

  test('a transient 5xx to a correct part is asked again and not judged; a 5xx to a crafted part is its answer', async () => {
    server.setFaultPlan({ instructions: [{ op: 'part', attempt: 1, action: { kind: 'error', status: 503 } }] });
    const probe = probeFor();
    const file = await probe.openSession();
    assert.equal((await probe.sendPart(file, 1)).status, 200);
    const [unavailable, stored] = probe.exchanges.slice(-2);
    assert.deepEqual([unavailable?.response?.status, unavailable?.waitedOut, stored?.response?.status], [503, true, 200]);
    assert.deepEqual(judgeServerExchanges({ run: 'r', exchanges: probe.exchanges, divergedAt: probe.divergences() }), []);
    // A request that must be refused takes its first answer, a 5xx included: that is what is judged.
    const { offset, bytes } = probe.partBytes(file, 2);
    const refused = await probe.putPart(file, { lo: offset, hi: offset + bytes.length - 1 }, bytes, {}, 'token', { kind: 'refusal', rule: 'S-DIGEST-REJECT' });
    assert.equal(refused.status, 503);
    assert.equal(probe.exchanges.at(-1)?.waitedOut, undefined);
    server.setFaultPlan({ instructions: [] });
    assert.deepEqual(await probe.cleanUp(), []);
  });

  test('a Retry-After past the answer budget ends the wait at once: GaveUpWaiting names the answer, the exchange is not judged', async () => {
    server.setFaultPlan({ instructions: [{ op: 'commit', attempt: 1, action: { kind: 'retry-later', retryAfter: 30 } }] });
    const probe = probeFor(server.baseUrl, 2000);
    const file = await probe.openSession();
    await probe.storeParts(
      file,
      Array.from({ length: probe.partCount(file) }, (_, index) => index + 1),
    );
    const started = performance.now();
    const error = await probe.commit(file, { digest: probe.wholeFileDigest(file) }).catch((caught: unknown) => caught);
    assert.ok(error instanceof GaveUpWaiting, String(error));
    assert.ok(performance.now() - started < 1500, 'waited although the wait could not fit');
    assert.match(
      error.message,
      /^gave up waiting for the answer to POST http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/files\/upload_sessions\/\w+\/commit \(the commit\) after 2 s/,
    );
    assert.match(error.message, /asked to commit again after 30 s\); raise --timeout/);
    assert.equal(probe.exchanges.at(-1)?.gaveUp, true);
    server.setFaultPlan({ instructions: [] });
    assert.deepEqual(await probe.cleanUp(), []);
  });

  test('an answer that hangs past the budget fails the rule it owed, and that endpoint is not asked again in the run', async () => {
    const silent: Server = createServer(() => {
      // never answers
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const base = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/2.0`;
    try {
      const target = { baseUrl: base, apiBaseUrl: base, token: 'probe-token', folderId: '0', namePrefix: 'probe-', seed: 's', transport, answerBudgetMs: 300 };
      const first = new ServerProbe(target, 'T');
      const error = await first.openSession().catch((caught: unknown) => caught);
      assert.ok(error instanceof Blocked, String(error));
      assert.deepEqual(error.blockedBy, ['S-CREATE']);
      assert.deepEqual(first.exchanges[0]?.hung?.rule, 'S-CREATE');
      assert.match(first.exchanges[0]?.hung?.reason ?? '', /no answer came within 0\.3 s/);
      assert.deepEqual(
        judgeServerExchanges({ run: 'r', exchanges: first.exchanges, divergedAt: {} }).map((finding) => finding.rule),
        ['S-CREATE'],
      );
      // Another scenario of the same run: the create is not sent again, and waits nothing.
      const second = new ServerProbe(target, 'U');
      const started = performance.now();
      const again = await second.createRaw(second.createBody(21_000_000, 'x.bin')).catch((caught: unknown) => caught);
      assert.ok(again instanceof Blocked && again.blockedBy[0] === 'S-CREATE', String(again));
      assert.equal(second.exchanges.length, 0);
      assert.ok(performance.now() - started < 300);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test('a part the server will not store blocks what needed it, naming S-PART-OK', async () => {
    server.setFaultPlan({ instructions: [{ op: 'part', part: 2, action: { kind: 'error', status: 500 } }] });
    const probe = probeFor();
    const file = await probe.openSession();
    const error = await probe.storeParts(file, [1, 2]).catch((caught: unknown) => caught);
    assert.ok(error instanceof Blocked, String(error));
    assert.deepEqual(error.blockedBy, ['S-PART-OK']);
    assert.match(error.message, /part 2 was not stored: HTTP 500/);
    server.setFaultPlan({ instructions: [] });
    assert.deepEqual(await probe.cleanUp(), []);
  });

  test('expectations follow from what was sent: a part into an acknowledged range is expected refused as an overlap', async () => {
    const probe = probeFor();
    const file = await probe.openSession();
    await probe.storeParts(file, [1]);
    await probe.sendPart(file, 1);
    assert.deepEqual(
      probe.exchanges.slice(-2).map((exchange) => exchange.expect),
      [{ kind: 'part' }, { kind: 'refusal', rule: 'S-OVERLAP-REJECT', status: 416, code: 'range_overlaps_existing_part' }],
    );
    await probe.commit(file, { digest: undefined });
    assert.deepEqual(probe.exchanges.at(-1)?.expect, { kind: 'refusal', rule: 'S-COMMIT-INCOMPLETE-REJECT' });
    assert.deepEqual(await probe.cleanUp(), []);
  });

  test('cleans up: aborts the sessions it left open and deletes the files it committed; a download is hashed', async () => {
    const probe = probeFor();
    const open = await probe.openSession();
    const committed = await probe.openSession();
    await probe.storeParts(
      committed,
      Array.from({ length: probe.partCount(committed) }, (_, index) => index + 1),
    );
    const answer = await probe.commit(committed, { digest: probe.wholeFileDigest(committed) });
    assert.equal(answer.status, 201);
    assert.equal(probe.exchanges.at(-1)?.expect.kind, 'file');
    const fileId = (answer.body as { entries: { id: string }[] }).entries[0]?.id ?? '';
    const content = await probe.readContent(fileId);
    assert.deepEqual(content.content, { length: committed.fileSize, sha1: probe.wholeFileSha1(committed).toString('hex') });
    assert.ok(server.storedFile(fileId));
    const missing = await probe.readContent('999999999');
    assert.equal(missing.content, undefined, 'an error answer is not a download');
    assert.equal((missing.body as { type?: unknown }).type, 'error');
    assert.deepEqual(await probe.cleanUp(), []);
    assert.equal(server.storedFile(fileId), undefined);
    assert.ok((await probe.status(open)).status >= 400, 'the open session was not aborted');
  });
});
