import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { undiciTransport } from '../src/http/transport.ts';
import { ServerProbe } from '../src/probe/probe.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';

describe('the server probe', () => {
  let server: SimulatedServer;
  const transport = undiciTransport();
  const probeFor = () =>
    new ServerProbe(
      { baseUrl: server.baseUrl, apiBaseUrl: server.baseUrl, token: 'probe-token', folderId: '0', namePrefix: 'probe-', seed: 's', transport },
      'T',
    );

  before(async () => {
    server = await startSimulatedServer({ token: 'probe-token' });
  });
  after(async () => {
    await transport.close();
    await server.close();
  });

  test('waits out 429 + Retry-After and asks again, keeping both answers as evidence', async () => {
    server.setFaultPlan({ instructions: [{ op: 'part', part: 1, attempt: 1, action: { kind: 'rate-limit', retryAfter: 1 } }] });
    const probe = probeFor();
    const file = await probe.openSession();
    const started = performance.now();
    const answer = await probe.sendPart(file, 1);
    assert.equal(answer.status, 200);
    assert.ok(performance.now() - started >= 1000, 'resent before Retry-After');
    assert.deepEqual(
      probe.exchanges.slice(-2).map((exchange) => exchange.response?.status),
      [429, 200],
    );
    server.setFaultPlan({ instructions: [] });
    assert.deepEqual(await probe.cleanUp(), []);
  });

  test('cleans up: aborts the sessions it left open and deletes the files it committed', async () => {
    const probe = probeFor();
    const open = await probe.openSession();
    const committed = await probe.openSession();
    const parts = [];
    for (let number = 1; number <= 3; number++) parts.push(await probe.storePart(committed, number));
    const { digestHeaderFor, sha1Of } = await import('../src/protocol/digest.ts');
    const answer = await probe.commit(committed, parts, digestHeaderFor(sha1Of(probe.bytesAt(committed, 0, committed.fileSize))));
    assert.equal(answer.status, 201);
    const fileId = (answer.body as { entries: { id: string }[] }).entries[0]?.id ?? '';
    assert.ok(server.storedFile(fileId));
    assert.deepEqual(await probe.cleanUp(), []);
    assert.equal(server.storedFile(fileId), undefined);
    assert.ok((await probe.status(open)).status >= 400, 'the open session was not aborted');
  });
});
