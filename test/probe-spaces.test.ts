import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AstBuilder, GherkinClassicTokenMatcher, Parser } from '@cucumber/gherkin';
import { IdGenerator } from '@cucumber/messages';
import { undiciTransport } from '../src/http/transport.ts';
import { unknownSessionUrl } from '../src/probe/cases.ts';
import { type ServerTarget, fileSizeFor } from '../src/probe/probe.ts';
import { checkSequences, describeSequence } from '../src/probe/sequences.ts';
import { FILE_SHAPES, SERVER_PROBE_SPACES, casesAt } from '../src/probe/spaces.ts';
import { SERVER_RULE_IDS } from '../src/protocol/rules.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';
import { MINIMAL_SERVER, MINIMAL_SERVER_ARGS, startServerProcess } from './support/kit.ts';

/** Each server scenario's rule and the probe-space table it states, from the features. */
async function statedSpaces(): Promise<Map<string, { name: string; values: string[] }[]>> {
  const dir = 'features/server';
  const stated = new Map<string, { name: string; values: string[] }[]>();
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.feature'))) {
    const parser = new Parser(new AstBuilder(IdGenerator.incrementing()), new GherkinClassicTokenMatcher());
    const document = parser.parse(await readFile(join(dir, name), 'utf8'));
    for (const child of document.feature?.children ?? []) {
      const scenario = child.scenario;
      const step = scenario?.steps.find((candidate) => candidate.text === "every case of the rule's probe space is sent:");
      if (!scenario || !step?.dataTable) continue;
      const rule = scenario.tags.map((tag) => tag.name.slice(1)).find((tag) => tag.startsWith('S-')) ?? '';
      const [, ...rows] = step.dataTable.rows.map((row) => row.cells.map((cell) => cell.value));
      stated.set(
        rule,
        rows.map(([dimension = '', values = '']) => ({ name: dimension, values: values.split(' / ') })),
      );
    }
  }
  return stated;
}

describe('server probe spaces', () => {
  test('every server rule has a probe space with cases in the default run, each case named once', () => {
    for (const rule of SERVER_RULE_IDS) {
      const space = SERVER_PROBE_SPACES[rule];
      assert.equal(space.rule, rule);
      assert.ok(casesAt(rule, 'default').length > 0, `${rule} has no case in the default run`);
      assert.equal(new Set(space.cases.map((probeCase) => probeCase.id)).size, space.cases.length, `${rule} names a case twice`);
      for (const probeCase of space.cases)
        for (const dimension of space.dimensions) assert.ok(dimension.values.includes(probeCase.values[dimension.name] ?? ''), `${rule}: ${probeCase.id}`);
      assert.ok(casesAt(rule, 'wide').length >= casesAt(rule, 'default').length);
    }
  });

  test("each rule's feature states its probe space exactly: the table a reviewer reads is the data the kit sends", async () => {
    const stated = await statedSpaces();
    assert.deepEqual([...stated.keys()].sort(), [...SERVER_RULE_IDS].sort());
    for (const [rule, dimensions] of stated)
      assert.deepEqual(
        dimensions,
        SERVER_PROBE_SPACES[rule as (typeof SERVER_RULE_IDS)[number]].dimensions.map((dimension) => ({ name: dimension.name, values: [...dimension.values] })),
        rule,
      );
  });

  test('the spaces reach the positions, sizes and values the statements name', () => {
    const values = (rule: (typeof SERVER_RULE_IDS)[number], name: string) =>
      new Set(SERVER_PROBE_SPACES[rule].cases.filter((probeCase) => probeCase.depth === 'default').map((probeCase) => probeCase.values[name]));
    for (const rule of ['S-PART-SIZE-REJECT', 'S-RANGE-ALIGN-REJECT', 'S-RANGE-MALFORMED-REJECT', 'S-DIGEST-REJECT'] as const)
      assert.deepEqual([...values(rule, 'position')].sort(), ['first', 'last', 'middle'], rule);
    assert.deepEqual([...values('S-CREATE', 'file')].sort(), [...FILE_SHAPES].sort());
    assert.ok(values('S-COMMIT-OK', 'file').has('exact multiple'));
    assert.deepEqual([...values('S-COMMIT-INCOMPLETE-REJECT', 'position')].sort(), ['first', 'last', 'middle']);
    for (const value of ['missing', 'empty', 'null', 'zero', 'negative', 'fractional']) assert.ok(values('S-CREATE-REJECT', 'value').has(value), value);
    assert.deepEqual([...values('S-AUTH', 'endpoint')].sort(), ['abort', 'commit', 'create', 'list', 'part', 'status']);
  });

  test('file shapes are an exact multiple of part_size, a byte either side, half a part over, and a single part', () => {
    for (const partSize of [1024 * 1024, 8 * 1024 * 1024, 262_144, 1000]) {
      const exact = fileSizeFor('exact multiple', partSize);
      assert.equal(exact % partSize, 0);
      assert.ok(exact >= 20_000_000 && exact / partSize >= 3);
      assert.equal(fileSizeFor('exact multiple', partSize, true), 3 * partSize);
      assert.ok(fileSizeFor('over 20 MB', partSize, true) > 20_000_000);
      assert.equal(fileSizeFor('one byte over', partSize), exact + 1);
      assert.equal(fileSizeFor('one byte under', partSize), exact - 1);
      assert.equal(fileSizeFor('half a part over', partSize) % partSize, Math.ceil(partSize / 2));
      assert.ok(fileSizeFor('a single part', partSize) <= partSize);
    }
  });

  test('an unknown session URL replaces the id in the path only, never in the port or the host', () => {
    assert.equal(unknownSessionUrl('http://127.0.0.1:33901/api/2.0/files/upload_sessions/39', '39'), 'http://127.0.0.1:33901/api/2.0/files/upload_sessions/84');
    assert.equal(
      unknownSessionUrl('http://127.0.0.1:39/api/2.0/files/upload_sessions/39/parts', '39'),
      'http://127.0.0.1:39/api/2.0/files/upload_sessions/84/parts',
    );
    const hex = unknownSessionUrl('https://upload.box.com/api/2.0/files/upload_sessions/F00D/commit', 'F00D');
    assert.match(hex, /^https:\/\/upload\.box\.com\/api\/2\.0\/files\/upload_sessions\/(?!F00D)[0-9A-F]{4}\/commit$/);
  });
});

describe('generated sequences of calls', () => {
  let simulated: SimulatedServer;
  const transport = undiciTransport();
  const target = (baseUrl: string, token: string): ServerTarget => ({
    baseUrl,
    apiBaseUrl: baseUrl,
    token,
    folderId: '0',
    namePrefix: 'sequences-',
    seed: 'seq',
    transport,
  });
  before(async () => {
    simulated = await startSimulatedServer({ token: 'seq-token', partSize: 256 * 1024 });
  });
  after(async () => {
    await transport.close();
    await simulated.close();
  });

  test('a correct server passes every generated sequence', async () => {
    const outcome = await checkSequences(target(simulated.baseUrl, 'seq-token'), { depth: 'default' });
    assert.equal(outcome.counterexample, undefined, JSON.stringify(outcome.counterexample?.findings));
    assert.equal(outcome.blocked, undefined);
  });

  test('a server whose count grows with refused parts fails S-STATUS on a shrunk sequence, the same one every run (a fixed seed)', async () => {
    const server = await startServerProcess([MINIMAL_SERVER, '--token', 'seq-token', ...MINIMAL_SERVER_ARGS, '--defect', 'status-counts-received']);
    try {
      const [first, second] = [
        await checkSequences(target(server.baseUrl, 'seq-token'), { depth: 'default' }),
        await checkSequences(target(server.baseUrl, 'seq-token'), { depth: 'default' }),
      ];
      const example = first.counterexample;
      assert.ok(example, 'no sequence failed');
      assert.deepEqual([...new Set(example.findings.map((finding) => finding.rule))], ['S-STATUS']);
      assert.equal(describeSequence(example.sequence), second.counterexample && describeSequence(second.counterexample.sequence));
      // Shrunk: a refused part and a status read suffice, and the sequence is at most a few steps longer.
      assert.ok(example.sequence.steps.length <= 4, describeSequence(example.sequence));
      assert.match(example.findings[0]?.run ?? '', /generated sequence \(seed 20261204\)/);
    } finally {
      await server.stop();
    }
  });
});
