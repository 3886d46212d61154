import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KIT_ERROR_MEDIA_TYPE, KitError, reportKitErrors } from '../src/errors.ts';
import { type ScenarioResult, ScenarioCollector, evidenceOf, kitErrorOf, scenariosFromMessages } from '../src/grader/results.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';

const PART = 1024;
const auth = { authorization: 'Bearer t' };

describe('the traffic record keeps what it parsed', () => {
  let server: SimulatedServer;
  before(async () => {
    server = await startSimulatedServer({ token: 't', partSize: PART, minFileSize: 1 });
  });
  after(() => server.close());

  test("a part's range and its answer's record, an overlap's code and conflicting part; GET /_control/traffic shows neither", async () => {
    const bytes = Buffer.alloc(2 * PART, 7);
    const created = await fetch(`${server.baseUrl}/files/upload_sessions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_name: 'parsed.bin', file_size: bytes.length }),
    });
    const { session_endpoints: endpoints } = (await created.json()) as { session_endpoints: { upload_part: string } };
    const body = bytes.subarray(0, PART);
    const put = () =>
      fetch(endpoints.upload_part, {
        method: 'PUT',
        headers: {
          ...auth,
          'content-type': 'application/octet-stream',
          'content-range': `bytes 0-${PART - 1}/${bytes.length}`,
          digest: digestHeaderFor(sha1Of(body)),
        },
        body,
      });
    const stored = (await (await put()).json()) as { part: unknown };
    assert.equal((await put()).status, 416);

    const [, first, again] = server.traffic();
    assert.deepEqual(first?.range, { lo: 0, hi: PART - 1, total: bytes.length });
    assert.deepEqual(first?.answer?.part, stored.part);
    assert.equal(again?.answer?.code, 'range_overlaps_existing_part');
    assert.deepEqual(again?.answer?.conflictingPart, stored.part);

    const listed = (await (await fetch(`${server.origin}/_control/traffic`)).json()) as { exchanges: Record<string, unknown>[] };
    const { exchanges } = listed;
    assert.ok(exchanges.length >= 3);
    for (const exchange of exchanges) assert.ok(!('range' in exchange) && !('answer' in exchange), JSON.stringify(exchange).slice(0, 300));
  });
});

describe('"could not run" travels as one attachment', () => {
  const scenario = (message: string, attachments: { mediaType: string; body: string }[]): ScenarioResult => ({
    name: 's',
    uri: 'features/x.feature',
    tags: [],
    rules: [],
    status: 'failed',
    message,
    evidence: evidenceOf(attachments),
  });

  test('the first attached kit error is the run’s; a message that merely says so is not read', () => {
    assert.equal(kitErrorOf([scenario('KIT ERROR: not this', [])]), undefined);
    assert.equal(
      kitErrorOf([
        scenario('', []),
        scenario('x', [{ mediaType: KIT_ERROR_MEDIA_TYPE, body: 'first' }]),
        scenario('y', [{ mediaType: KIT_ERROR_MEDIA_TYPE, body: 'second' }]),
      ]),
      'first',
    );
  });

  test('a step attaches a KitError and fails with it; any other error passes through as it was', async () => {
    const attached: [string, string][] = [];
    const attach = (body: string, mediaType: string) => void attached.push([body, mediaType]);
    await assert.rejects(
      reportKitErrors(attach, Promise.reject(new KitError('the client command was not found'))),
      /^Error: KIT ERROR: the client command was not found$/,
    );
    assert.deepEqual(attached, [['the client command was not found', KIT_ERROR_MEDIA_TYPE]]);
    const other = new Error('a rule failed');
    await assert.rejects(reportKitErrors(attach, Promise.reject(other)), (error) => error === other);
    assert.equal(await reportKitErrors(attach, Promise.resolve(3)), 3);
    assert.equal(attached.length, 1);
  });

  test('the live collector leaves attachments undecoded; the collector the reports read decodes each once', () => {
    const envelopes = [
      { pickle: { id: 'p', name: 's', uri: 'u', tags: [] } },
      { testCase: { id: 'c', pickleId: 'p' } },
      { testCaseStarted: { id: 'r', testCaseId: 'c' } },
      { attachment: { testCaseStartedId: 'r', mediaType: KIT_ERROR_MEDIA_TYPE, body: 'why' } },
      { testStepFinished: { testCaseStartedId: 'r', testStepResult: { status: 'PASSED' } } },
      { testCaseFinished: { testCaseStartedId: 'r' } },
    ];
    const live = new ScenarioCollector(undefined, { decodeEvidence: false });
    const full = new ScenarioCollector();
    for (const envelope of envelopes) {
      live.accept(envelope);
      full.accept(envelope);
    }
    assert.deepEqual(live.results[0]?.evidence.kitErrors, []);
    assert.deepEqual(full.results[0]?.evidence.kitErrors, ['why']);
  });
});

describe('scenario results in the order of the features', () => {
  test('scenarios that finish in another order (side by side) are reported as the features list them', () => {
    const names = ['first', 'second', 'third'];
    const envelopes = [
      ...names.map((name) => ({ pickle: { id: `p-${name}`, name, uri: 'features/x.feature', tags: [] } })),
      ...names.map((name) => ({ testCase: { id: `c-${name}`, pickleId: `p-${name}` } })),
      ...names.map((name) => ({ testCaseStarted: { id: `s-${name}`, testCaseId: `c-${name}` } })),
      // The third finishes first, the first last.
      ...[...names].reverse().map((name) => ({ testCaseFinished: { testCaseStartedId: `s-${name}` } })),
    ];
    const scenarios = scenariosFromMessages(envelopes.map((envelope) => JSON.stringify(envelope)).join('\n'));
    assert.deepEqual(
      scenarios.map((scenario) => scenario.name),
      names,
    );
  });
});
