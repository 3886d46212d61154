/**
 * How each server rule's probe space (src/probe/spaces.ts) is sent: one runner per rule, keyed by rule so
 * that a rule without one does not compile. What each answer must be is fixed by the probe when it sends
 * (src/probe/probe.ts) from what the kit sent; a runner adds what a single answer cannot show (a refused
 * part stored after all, a session changed by a refused call) as the scenario's findings.
 */
import type { JsonResponse } from '../http/transport.ts';
import { digestHeaderFor, sha1Of } from '../protocol/digest.ts';
import type { ServerRuleId } from '../protocol/rules.ts';
import type { UploadPart } from '../protocol/shapes.ts';
import { Blocked } from '../errors.ts';
import type { Credentials, Expectation } from './exchange.ts';
import { sendOtherBytes } from './part-variants.ts';
import type { ProbeSession, ServerProbe } from './probe.ts';
import type { ServerScenario } from './scenario.ts';
import { CREATE_VALUES, type CreateField, type FileShape, PART_WAYS, type PartWay, type Position, type ProbeCase, STATUS_AFTER, casesAt } from './spaces.ts';

type Runner = (scenario: ServerScenario, cases: readonly ProbeCase[]) => Promise<void>;

const valueOf = (probeCase: ProbeCase, name: string): string => {
  const value = probeCase.values[name];
  if (value === undefined) throw new Error(`probe case "${probeCase.id}" has no ${name}`);
  return value;
};

/** The 1-based number of the part at `position`. */
export function partNumberAt(probe: ServerProbe, file: ProbeSession, position: Position | 'only'): number {
  const count = probe.partCount(file);
  if (position === 'first' || position === 'only') return 1;
  return position === 'last' ? count : Math.ceil(count / 2);
}

const range = (lo: number, length: number) => ({ lo, hi: lo + length - 1 });

/**
 * Sends part `number` wrong in `way`, expecting the refusal of the rule that names it. A way that does not
 * exist at that position is sent where it does: past the end at the last part, a byte early at the
 * second, a byte long at the first (a long last part would reach past the end).
 */
export function sendWrongPart(probe: ServerProbe, file: ProbeSession, asked: number, way: PartWay): Promise<JsonResponse> {
  const count = probe.partCount(file);
  const number = way === 'past the end of the file' ? count : way === 'a byte early' && asked === 1 ? 2 : way === 'a byte long' && asked === count ? 1 : asked;
  const { offset, bytes } = probe.partBytes(file, number);
  const partSize = file.session.part_size;
  const { fileSize } = file;
  const last = number === count;
  const expect: Expectation = { kind: 'refusal', rule: PART_WAYS[way] };
  const at = (lo: number, length: number) => probe.putPart(file, range(lo, length), probe.bytesAt(file, lo, length), {}, 'token', expect);
  const headers = (overrides: Record<string, string | undefined>, body: Buffer = bytes) =>
    probe.putPart(file, range(offset, bytes.length), body, overrides, 'token', expect);
  const lo = offset;
  const hi = offset + bytes.length - 1;
  switch (way) {
    case 'a byte short':
      return at(offset, bytes.length - 1);
    case 'a byte long':
      return at(offset, bytes.length + 1);
    case 'a byte late':
      return at(offset + 1, last ? fileSize - offset - 1 : partSize);
    case 'a byte early':
      return at(offset - 1, last ? fileSize - offset + 1 : partSize);
    case 'no Content-Range':
      return headers({ 'content-range': undefined });
    case 'no "bytes " unit':
      return headers({ 'content-range': `${lo}-${hi}/${fileSize}` });
    case 'not numbers':
      return headers({ 'content-range': 'bytes x-y/z' });
    case 'its end before its start':
      return headers({ 'content-range': `bytes ${hi}-${lo}/${fileSize}` });
    case 'a total other than the file size':
      return headers({ 'content-range': `bytes ${lo}-${hi}/${fileSize * 2}` });
    case 'past the end of the file': {
      const body = Buffer.concat([bytes, Buffer.alloc(1)]);
      return probe.putPart(file, range(offset, body.length), body, {}, 'token', expect);
    }
    case 'a body a byte shorter than its range':
      return headers({ digest: digestHeaderFor(sha1Of(bytes.subarray(0, bytes.length - 1))) }, bytes.subarray(0, bytes.length - 1));
    case 'a body a byte longer than its range': {
      const body = Buffer.concat([bytes, Buffer.alloc(1)]);
      return headers({ digest: digestHeaderFor(sha1Of(body)) }, body);
    }
    case 'no Digest':
      return headers({ digest: undefined });
    case 'a malformed Digest (hex, not base64)':
      return headers({ digest: `sha=${sha1Of(bytes).toString('hex')}` });
    case 'the Digest of other bytes':
      return headers({ digest: digestHeaderFor(sha1Of('other bytes')) });
  }
}

/** Cases grouped by one dimension's value, in the order they first appear. */
function groupedBy(cases: readonly ProbeCase[], name: string): [string, ProbeCase[]][] {
  const groups = new Map<string, ProbeCase[]>();
  for (const probeCase of cases) {
    const key = valueOf(probeCase, name);
    groups.set(key, [...(groups.get(key) ?? []), probeCase]);
  }
  return [...groups];
}

/**
 * Runs `cases` one after another in sessions of `shape`, each in a session still as the kit made it: a
 * case that changed its session (a refusal accepted, a part stored) leaves the next one a new session.
 */
async function inSessions(
  scenario: ServerScenario,
  shape: FileShape,
  cases: readonly ProbeCase[],
  prepare: (file: ProbeSession) => Promise<void>,
  run: (file: ProbeSession, probeCase: ProbeCase) => Promise<void>,
): Promise<void> {
  const { probe } = scenario;
  let file: ProbeSession | undefined;
  for (const probeCase of cases) {
    if (!file || !probe.usable(file)) {
      if (file) await probe.abort(file.session).catch(() => undefined);
      file = await probe.openShaped(shape);
      if (!file) {
        scenario.notJudged.push(`the server would not open a session for ${shape} (a file under Box's 20 MB minimum): ${cases.map((c) => c.id).join('; ')}`);
        return;
      }
      scenario.file = file;
      await prepare(file);
    }
    const current = file;
    await eachCase(scenario, probeCase, () => run(current, probeCase));
  }
  scenario.assertSomeCaseJudged();
}

/**
 * Runs one case; a case another rule's failure keeps from being judged (an endpoint that hung) is noted
 * and the next one runs. `assertSomeCaseJudged` then blocks the scenario only when no case was judged.
 */
async function eachCase(scenario: ServerScenario, probeCase: ProbeCase, work: () => Promise<unknown>): Promise<void> {
  try {
    await scenario.probe.labelled(probeCase.id, work);
    scenario.judgedCases += 1;
  } catch (error) {
    if (!(error instanceof Blocked) || error.blockedBy.some((rule) => scenario.rules.includes(rule))) throw error;
    scenario.blockedCases.push(error);
    scenario.notJudged.push(`${probeCase.id}: ${error.message}`);
  }
}

/** A refused part must leave the session's parts as they were. */
async function refusedAndNotStored(scenario: ServerScenario, rule: ServerRuleId): Promise<void> {
  const problem = await scenario.persistedProblem();
  if (problem) scenario.found(rule, problem);
}

/** Runs `cases` by their file shape, in order, each group in sessions of that shape. */
async function perFile(scenario: ServerScenario, cases: readonly ProbeCase[], run: (file: ProbeSession, probeCase: ProbeCase) => Promise<void>): Promise<void> {
  for (const [shape, group] of groupedBy(cases, 'file')) await inSessions(scenario, shape as FileShape, group, async () => undefined, run);
}

const partRunner =
  (rule: ServerRuleId): Runner =>
  (scenario, cases) =>
    perFile(scenario, cases, async (file, probeCase) => {
      const way = valueOf(probeCase, 'way') as PartWay;
      await sendWrongPart(scenario.probe, file, partNumberAt(scenario.probe, file, valueOf(probeCase, 'position') as Position), way);
      scenario.sentAt = scenario.probe.exchanges.length - 1;
      await refusedAndNotStored(scenario, rule);
    });

/** The create body of one S-CREATE-REJECT case. */
export function invalidCreateBody(probe: ServerProbe, field: CreateField, value: string): Record<string, unknown> {
  const body = probe.createBody(21_000_000, probe.nextFileName());
  const values: Record<string, unknown> = {
    empty: '',
    null: null,
    'a boolean': true,
    'a number': 5,
    '256 characters': `${'n'.repeat(252)}.bin`,
    'a string of digits': '21000000',
    zero: 0,
    negative: -5,
    fractional: 21_000_000.5,
    '2^53': 2 ** 53,
  };
  if (value === 'missing') delete body[field];
  else body[field] = values[value];
  return body;
}

async function storeAll(probe: ServerProbe, file: ProbeSession): Promise<void> {
  await probe.storeParts(
    file,
    Array.from({ length: probe.partCount(file) }, (_, index) => index + 1),
  );
}

/** A correct commit after the refused ones creates the file: none was created before. */
async function commitsAfterRefusals(scenario: ServerScenario, rule: ServerRuleId): Promise<void> {
  if (!scenario.file || !scenario.probe.usable(scenario.file)) return;
  const problem = await scenario.commitAgainProblem();
  if (problem) scenario.found(rule, problem);
}

/** The commit list of a correct client with the part at `position` changed in one way. */
async function changedCommitList(scenario: ServerScenario, file: ProbeSession, change: string, position: Position): Promise<UploadPart[]> {
  const { probe } = scenario;
  const parts = probe.commitParts(file);
  const index = partNumberAt(probe, file, position) - 1;
  const part = parts[index];
  if (!part) throw new Error(`no part at ${position}`);
  const neighbour = parts[index === 0 ? 1 : index - 1] ?? part;
  switch (change) {
    case 'left out':
      return parts.filter((_, at) => at !== index);
    case 'replaced by its neighbour':
      return parts.map((entry, at) => (at === index ? neighbour : entry));
    case 'with another part_id':
      return parts.map((entry, at) => (at === index ? { ...entry, part_id: `${entry.part_id}0` } : entry));
    case 'with another size':
      return parts.map((entry, at) => (at === index ? { ...entry, size: entry.size - 1 } : entry));
    case 'from another session': {
      const other = await probe.openShaped('half a part over');
      if (!other) throw new Blocked(['S-CREATE'], 'could not open a second session');
      await probe.storeParts(other, [index + 1]);
      const foreign = probe.commitParts(other).find((entry) => entry.offset === part.offset);
      if (!foreign) throw new Blocked(['S-PART-OK'], 'the part stored in the second session gave no record');
      return parts.map((entry, at) => (at === index ? foreign : entry));
    }
  }
  throw new Error(`unknown change to the commit list: ${change}`);
}

/** The records of the parts stored, for a commit that must be refused whatever it lists: an unreadable part_id is no reason not to send it. */
const recordsOf = (probe: ServerProbe, file: ProbeSession): UploadPart[] =>
  probe.expectedParts(file).map((part) => ({ part_id: part.partId ?? 'unknown', offset: part.offset, size: part.size, sha1: part.sha1 }));

const CREDENTIALS: Record<string, Credentials> = {
  missing: 'none',
  wrong: 'wrong',
  'without the Bearer scheme': 'no-scheme',
  'another scheme': 'other-scheme',
  'an empty Bearer': 'empty-bearer',
};

/** A URL like `endpoint` with the session id replaced by one the server never gave, built from its path segments. */
export function unknownSessionUrl(endpoint: string, sessionId: string): string {
  const url = new URL(endpoint);
  const unknown = `${sessionId.replace(/./g, (c) => (/[0-9]/.test(c) ? String((Number(c) + 5) % 10) : c === 'F' ? 'E' : 'F'))}`;
  url.pathname = url.pathname
    .split('/')
    .map((segment) => (decodeURIComponent(segment) === sessionId ? encodeURIComponent(unknown) : segment))
    .join('/');
  return url.toString();
}

const PAGE_QUERIES: Record<string, (stored: number) => { offset?: number; limit?: number }[]> = {
  'the default page': () => [{}],
  'limit 1, every page': (stored) => Array.from({ length: Math.max(1, stored) }, (_, offset) => ({ offset, limit: 1 })),
  'limit 2': () => [{ offset: 0, limit: 2 }],
  'a limit past the count': (stored) => [{ offset: 0, limit: stored + 5 }],
  'an offset past the end': (stored) => [{ offset: stored + 3, limit: 2 }],
};

const STORED_PARTS: Record<string, (count: number) => number[]> = {
  none: () => [],
  'in order': () => [1, 2, 3],
  'out of order': (count) => [count, 1, Math.ceil(count / 2)],
  'with a hole': (count) => [1, count],
};

export const CASE_RUNNERS: Readonly<Record<ServerRuleId, Runner>> = {
  'S-CREATE': async (scenario, cases) => {
    for (const probeCase of cases) {
      const file = await scenario.probe.labelled(probeCase.id, () => scenario.probe.openShaped(valueOf(probeCase, 'file') as FileShape));
      if (file) await scenario.probe.abort(file.session);
    }
  },
  'S-CREATE-REJECT': async (scenario, cases) => {
    const { probe } = scenario;
    for (const probeCase of cases) {
      const field = valueOf(probeCase, 'field') as CreateField;
      const value = valueOf(probeCase, 'value');
      if (!(CREATE_VALUES[field] as readonly string[]).includes(value)) throw new Error(`${field} is not probed with ${value}`);
      const status = probeCase.expect === '400' ? 400 : undefined;
      await probe.labelled(probeCase.id, () =>
        probe.createRaw(invalidCreateBody(probe, field, value), 'token', { kind: 'refusal', rule: 'S-CREATE-REJECT', ...(status ? { status } : {}) }),
      );
    }
  },
  'S-PART-OK': async (scenario, cases) => {
    const { probe } = scenario;
    // The last part first: parts stored out of order, each listed after it is stored.
    const lastFirst = [...cases].sort((a, b) => Number(valueOf(b, 'position') === 'last') - Number(valueOf(a, 'position') === 'last'));
    await perFile(scenario, lastFirst, async (file, probeCase) => {
      const number = partNumberAt(probe, file, valueOf(probeCase, 'position') as Position | 'only');
      if (probe.expectedParts(file).some((part) => part.offset === (number - 1) * file.session.part_size)) return;
      await probe.sendPart(file, number);
      await probe.listParts(file, { limit: 1000 });
    });
  },
  'S-PART-SIZE-REJECT': partRunner('S-PART-SIZE-REJECT'),
  'S-RANGE-ALIGN-REJECT': partRunner('S-RANGE-ALIGN-REJECT'),
  'S-RANGE-MALFORMED-REJECT': partRunner('S-RANGE-MALFORMED-REJECT'),
  'S-DIGEST-REJECT': partRunner('S-DIGEST-REJECT'),
  'S-OVERLAP-REJECT': async (scenario, cases) => {
    const { probe } = scenario;
    await inSessions(
      scenario,
      'half a part over',
      cases,
      async () => undefined,
      async (file, probeCase) => {
        const number = partNumberAt(probe, file, valueOf(probeCase, 'position') as Position);
        if (!probe.expectedParts(file).some((part) => part.offset === (number - 1) * file.session.part_size)) await probe.storeParts(file, [number]);
        scenario.noted = await scenario.note(false);
        await (valueOf(probeCase, 'bytes') === 'the same bytes' ? probe.sendPart(file, number) : sendOtherBytes(probe, file, number));
        scenario.sentAt = probe.exchanges.length - 1;
        const problem = await scenario.changeSinceNote(false);
        if (problem) scenario.found('S-OVERLAP-REJECT', problem);
      },
    );
  },
  'S-LIST-PARTS': async (scenario, cases) => {
    const { probe } = scenario;
    for (const [stored, group] of groupedBy(cases, 'stored')) {
      const file = await probe.openShaped('half a part over');
      if (!file) throw new Blocked(['S-CREATE'], 'could not open a session');
      scenario.file = file;
      const numbers = STORED_PARTS[stored]?.(probe.partCount(file)) ?? [];
      for (const number of numbers) await probe.storeParts(file, [number]);
      for (const probeCase of group) {
        const queries = PAGE_QUERIES[valueOf(probeCase, 'page')]?.(numbers.length) ?? [];
        await probe.labelled(probeCase.id, async () => {
          for (const query of queries) await probe.listParts(file, query);
        });
      }
    }
  },
  'S-STATUS': async (scenario, cases) => {
    const { probe } = scenario;
    const wanted = new Set(cases.map((probeCase) => valueOf(probeCase, 'after')));
    let broken = false;
    await inSessions(
      scenario,
      'half a part over',
      cases.slice(0, 1),
      async () => undefined,
      async (file) => {
        // In the order STATUS_AFTER gives: the short last part first, then refusals of every kind.
        for (const after of STATUS_AFTER.filter((step) => wanted.has(step))) {
          await probe.labelled(after, async () => {
            const count = probe.partCount(file);
            if (after === 'the last part stored') await probe.storeParts(file, [count]);
            else if (after === 'the first part stored') await probe.storeParts(file, [1]);
            else if (after === 'a middle part stored') await probe.storeParts(file, [Math.ceil(count / 2)]);
            else if (after === 'a part refused for its size') await sendWrongPart(probe, file, 2, 'a byte short');
            else if (after === 'a part refused for its Digest') await sendWrongPart(probe, file, 2, 'the Digest of other bytes');
            else if (after === 'a part refused as an overlap') await sendOtherBytes(probe, file, 1);
            else await probe.sendPart(file, 2, 'wrong');
            if (!probe.usable(file)) return;
            // Once the count was wrong, later counts are read once: a broken server is not waited on again.
            const problem = await scenario.statusSettledProblem(!broken);
            if (problem) scenario.found('S-STATUS', `after ${after}: ${problem}`);
            broken ||= problem !== undefined;
          });
        }
      },
    );
  },
  'S-COMMIT-OK': async (scenario, cases) => {
    const { probe } = scenario;
    for (const probeCase of cases) {
      await probe.labelled(probeCase.id, async () => {
        const file = await probe.openShaped(valueOf(probeCase, 'file') as FileShape);
        if (!file) {
          scenario.notJudged.push(`${probeCase.id}: the server would not open a session for it (under Box's 20 MB minimum)`);
          return;
        }
        scenario.file = file;
        await storeAll(probe, file);
        const answer = await probe.commit(file, { digest: probe.wholeFileDigest(file) });
        if (answer.status === 201) {
          const { problem } = await scenario.downloadProblem(answer);
          if (problem) scenario.found('S-COMMIT-OK', problem);
        }
      });
    }
  },
  'S-COMMIT-DIGEST-REJECT': async (scenario, cases) => {
    const { probe } = scenario;
    const digests: Record<string, (file: ProbeSession) => string | undefined> = {
      missing: () => undefined,
      'of other bytes': () => digestHeaderFor(sha1Of('other bytes')),
      malformed: () => 'sha=not base64!',
      'hex, not base64': (file) => `sha=${probe.wholeFileSha1(file).toString('hex')}`,
      'of the file without its last byte': (file) => digestHeaderFor(sha1Of(probe.bytesAt(file, 0, file.fileSize - 1))),
    };
    await inSessions(
      scenario,
      'half a part over',
      cases,
      (file) => storeAll(probe, file),
      async (file, probeCase) => {
        await probe.commit(file, { digest: digests[valueOf(probeCase, 'digest')]?.(file) });
      },
    );
    await commitsAfterRefusals(scenario, 'S-COMMIT-DIGEST-REJECT');
  },
  'S-COMMIT-INCOMPLETE-REJECT': async (scenario, cases) => {
    const { probe } = scenario;
    await inSessions(
      scenario,
      'half a part over',
      cases,
      (file) => storeAll(probe, file),
      async (file, probeCase) => {
        const parts = await changedCommitList(scenario, file, valueOf(probeCase, 'part'), valueOf(probeCase, 'position') as Position);
        await probe.commit(file, { digest: probe.wholeFileDigest(file), parts, expect: { kind: 'refusal', rule: 'S-COMMIT-INCOMPLETE-REJECT' } });
      },
    );
    await commitsAfterRefusals(scenario, 'S-COMMIT-INCOMPLETE-REJECT');
  },
  'S-ABORT': async (scenario, cases) => {
    const { probe } = scenario;
    const file = await probe.openShaped('half a part over');
    if (!file) throw new Blocked(['S-CREATE'], 'could not open a session');
    scenario.file = file;
    await probe.storeParts(file, [1]);
    const aborted = await probe.abort(file.session);
    if (aborted.status !== 204) return;
    const parts = recordsOf(probe, file);
    const calls: Record<string, () => Promise<unknown>> = {
      status: () => probe.status(file),
      list: () => probe.listParts(file),
      part: () => probe.sendPart(file, 2),
      commit: () => probe.commit(file, { digest: probe.wholeFileDigest(file), parts }),
      abort: () => probe.abort(file.session),
    };
    for (const probeCase of cases) await probe.labelled(probeCase.id, async () => calls[valueOf(probeCase, 'then')]?.());
  },
  'S-AUTH': async (scenario, cases) => {
    const { probe } = scenario;
    const creates = cases.filter((probeCase) => valueOf(probeCase, 'endpoint') === 'create');
    for (const probeCase of creates)
      await probe.labelled(probeCase.id, () => probe.createRaw(probe.createBody(21_000_000, probe.nextFileName()), CREDENTIALS[valueOf(probeCase, 'token')]));
    await inSessions(
      scenario,
      'half a part over',
      cases.filter((probeCase) => valueOf(probeCase, 'endpoint') !== 'create'),
      async (file) => {
        await probe.storeParts(file, [1]);
        scenario.noted = await scenario.note(true);
      },
      async (file, probeCase) => {
        const credentials = CREDENTIALS[valueOf(probeCase, 'token')] ?? 'none';
        const calls: Record<string, () => Promise<unknown>> = {
          part: () => probe.sendPart(file, probe.partCount(file), credentials),
          list: () => probe.listParts(file, {}, credentials),
          status: () => probe.status(file, credentials),
          commit: () => probe.commit(file, { digest: probe.wholeFileDigest(file), credentials, parts: recordsOf(probe, file) }),
          abort: () => probe.abort(file.session, credentials),
        };
        await calls[valueOf(probeCase, 'endpoint')]?.();
        scenario.sentAt = probe.exchanges.length - 1;
        const problem = await scenario.changeSinceNote(true);
        if (problem) scenario.found('S-AUTH', problem);
      },
    );
    const file = scenario.file;
    if (file && probe.usable(file)) {
      // The refused commits and aborts ended nothing: the upload completes. Another rule's failure here leaves the 401s judged.
      try {
        await probe.storeParts(
          file,
          Array.from({ length: probe.partCount(file) - 1 }, (_, index) => index + 2),
        );
        await commitsAfterRefusals(scenario, 'S-AUTH');
      } catch (error) {
        if (!(error instanceof Blocked)) throw error;
        scenario.notJudged.push(`whether the refused calls left the upload able to complete: ${error.message}`);
      }
    }
  },
  'S-ERROR-SHAPE': async (scenario, cases) => {
    const { probe } = scenario;
    const file = await probe.openShaped('half a part over');
    if (!file) throw new Blocked(['S-CREATE'], 'could not open a session');
    const endpoints = file.session.session_endpoints;
    const id = file.session.id;
    const { bytes } = probe.partBytes(file, 1);
    const calls = {
      status: { kind: 'status', method: 'GET', url: unknownSessionUrl(endpoints.status, id) },
      list: { kind: 'list', method: 'GET', url: unknownSessionUrl(endpoints.list_parts, id) },
      part: { kind: 'part', method: 'PUT', url: unknownSessionUrl(endpoints.upload_part, id), body: bytes },
      commit: { kind: 'commit', method: 'POST', url: unknownSessionUrl(endpoints.commit, id), body: JSON.stringify({ parts: [] }) },
      abort: { kind: 'abort', method: 'DELETE', url: unknownSessionUrl(endpoints.abort, id) },
    } as const;
    for (const probeCase of cases) {
      const call = calls[valueOf(probeCase, 'unknown session') as keyof typeof calls];
      await eachCase(scenario, probeCase, () => probe.send({ ...call, expect: { kind: 'any' } }));
    }
    scenario.assertSomeCaseJudged();
  },
};

/** Sends every case of `rule`'s space at the probe's depth. */
export async function runProbeSpace(scenario: ServerScenario, rule: ServerRuleId): Promise<void> {
  await CASE_RUNNERS[rule](scenario, casesAt(rule, scenario.probe.depth));
}
