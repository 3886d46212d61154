import { createHash } from 'node:crypto';
import { After, Before, Given, Then, When } from '@cucumber/cucumber';
import { SERVER_EXCHANGES_MEDIA_TYPE, type ServerExchangeAttachment } from '../src/grader/attachments.ts';
import { type BlockedRule, FINDINGS_MEDIA_TYPE, type FindingsAttachment } from '../src/grader/findings.ts';
import {
  errorShapeProblem,
  listedPartsProblem,
  partRecordProblem,
  partsPageProblem,
  refusalProblem,
  sessionStatusProblem,
  statusProblem,
} from '../src/grader/server-checks.ts';
import { judgeServerExchanges } from '../src/grader/server-findings.ts';
import { type JsonResponse, describeResponse } from '../src/http/transport.ts';
import { serverTarget } from '../src/kit/server-target.ts';
import { GaveUpWaiting, KIT_ERROR_MEDIA_TYPE } from '../src/probe/budget.ts';
import type { Credentials, Expectation } from '../src/probe/exchange.ts';
import { Blocked, type Listing, MAX_LIST_LIMIT, type ProbeSession, ServerProbe } from '../src/probe/probe.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { uploadSessionProblem } from '../src/protocol/shapes.ts';
import type { KitWorld } from './support/world.ts';

/**
 * Bytes the list-parts paging probe may upload to store one part more than the server's default page
 * (Box: 101 parts of 8 MiB, about 850 MB, if its default page is 100). A server whose default page costs
 * more is not judged on paging without `limit` (the scenario says why).
 */
const PAGING_MAX_BYTES = 1024 * 1024 * 1024;

/** What a session looked like at one moment: its listing (every page) and, when noted, its status. */
interface SessionNote {
  listing: string;
  status?: string;
}

/** One server scenario: its probe, what it did, and what it found it could not judge. */
class ServerScenario {
  file?: ProbeSession;
  answer?: JsonResponse;
  /** The exchange of the request the When step sent: where a refused request may have changed the session. */
  sentAt?: number;
  /** File size of the last create the scenario sent. */
  createdSize = 0;
  noted?: SessionNote;
  overlapped?: { offset: number; other: Buffer };
  /** Parts stored by the paging probe, and the default page it found. */
  paging?: { stored: number; defaultPage: number };
  readonly blocked: BlockedRule[] = [];

  constructor(
    readonly probe: ServerProbe,
    /** The scenario's name: what findings name as their run. */
    readonly name: string,
    /** The rule ids the scenario is tagged with. */
    readonly rules: readonly string[],
  ) {}

  get session(): ProbeSession {
    if (!this.file) throw new Error('no upload session: a Given step should have opened one');
    return this.file;
  }

  get lastAnswer(): JsonResponse {
    if (!this.answer) throw new Error('no answer to judge: the When step sent nothing');
    return this.answer;
  }

  /** Keeps `answer` as the one to judge, and its exchange as where the session may have changed. */
  sent(answer: JsonResponse): void {
    this.answer = answer;
    this.sentAt = this.probe.exchanges.length - 1;
  }

  /** The refused request changed the session: stateful answers after it are not held against other rules. */
  changedByRefusal(): void {
    if (this.sentAt !== undefined) this.probe.diverge(this.session.session.id, this.sentAt);
  }
}

const scenarios = new WeakMap<KitWorld, ServerScenario>();

function scenarioOf(world: KitWorld): ServerScenario {
  const scenario = scenarios.get(world);
  if (!scenario) throw new Error('not a server scenario: tag it @server');
  return scenario;
}

type StepBody = (this: KitWorld, scenario: ServerScenario, ...args: never[]) => Promise<'skipped' | void> | 'skipped' | void;

/**
 * Defines a server step. No Cucumber time limit: the probe bounds every wait by the answer budget.
 * A Blocked error (another rule's failure kept the step from observing) leaves the scenario not judged
 * and says by which rules; running out of the budget leaves it not judged and makes the run a kit error.
 */
function serverStep(define: typeof Given, pattern: string | RegExp, body: StepBody): void {
  const wrapped = async function (this: KitWorld, ...args: unknown[]) {
    const scenario = scenarioOf(this);
    try {
      return (
        (await (body as (this: KitWorld, scenario: ServerScenario, ...rest: unknown[]) => Promise<'skipped' | void>).call(this, scenario, ...args)) ?? undefined
      );
    } catch (error) {
      if (error instanceof Blocked && !error.blockedBy.some((rule) => scenario.rules.includes(rule))) {
        for (const rule of scenario.rules) scenario.blocked.push({ rule, run: scenario.name, blockedBy: [...error.blockedBy], reason: error.message });
        this.attach(`not judged: ${error.message} (blocked by ${error.blockedBy.join(', ')})`, 'text/plain');
        return 'skipped';
      }
      if (error instanceof GaveUpWaiting) {
        this.attach(`not judged: ${error.message}`, 'text/plain');
        this.attach(error.message, KIT_ERROR_MEDIA_TYPE);
        return 'skipped';
      }
      throw error;
    }
  };
  // Cucumber reads a step's parameter count from its function: keep the body's, less the scenario.
  Object.defineProperty(wrapped, 'length', { value: Math.max(0, body.length - 1) });
  define(pattern, { timeout: -1 }, wrapped);
}

/** Fails the step with `problem`. */
function expectNo(problem: string | undefined): void {
  if (problem !== undefined) throw new Error(problem);
}

const partNumber = (probe: ServerProbe, file: ProbeSession, which: string) =>
  which === 'the last part' ? probe.partCount(file) : Number(/\d+/.exec(which)?.[0]);
const CREDENTIALS: Record<string, Credentials> = { 'without a token': 'none', 'with a wrong token': 'wrong' };
const credentialsOf = (how: string | null | undefined): Credentials => (how ? (CREDENTIALS[how] ?? 'token') : 'token');

Before({ tags: '@server' }, function (this: KitWorld, { pickle }) {
  const rules = pickle.tags.map((tag) => tag.name.slice(1)).filter((name) => name.startsWith('S-'));
  scenarios.set(this, new ServerScenario(new ServerProbe(serverTarget(), rules[0] ?? 'S'), pickle.name, rules));
});

After({ tags: '@server', timeout: -1 }, async function (this: KitWorld) {
  const scenario = scenarios.get(this);
  if (!scenario) return;
  const { probe } = scenario;
  const left = await probe.cleanUp();
  if (left.length > 0) this.attach(`could not clean up: ${left.join(', ')}`, 'text/plain');
  const { exchanges } = probe;
  if (exchanges.length > 0) {
    this.attach(
      exchanges
        .map(
          (exchange) =>
            `#${exchange.index} ${exchange.request} -> ${exchange.response ? describeResponse(exchange.response) : exchange.gaveUp ? 'gave up waiting' : `no answer: ${exchange.failure}`}`,
        )
        .join('\n'),
      'text/plain',
    );
    const evidence: ServerExchangeAttachment[] = exchanges.map((exchange) => ({
      request: exchange.request,
      status: exchange.response?.status,
      body: exchange.response?.text.slice(0, 2000),
      failure: exchange.failure,
    }));
    this.attach(JSON.stringify(evidence), SERVER_EXCHANGES_MEDIA_TYPE);
  }
  const findings: FindingsAttachment = {
    findings: judgeServerExchanges({ run: scenario.name, exchanges, divergedAt: probe.divergences() }),
    blocked: scenario.blocked,
  };
  if (findings.findings.length > 0 || findings.blocked.length > 0) this.attach(JSON.stringify(findings), FINDINGS_MEDIA_TYPE);
});

// --- sessions -------------------------------------------------------------------------------------

serverStep(Given, 'an upload session for a file of at least {int} parts', async function (scenario, parts: number) {
  scenario.file = await scenario.probe.openSession(parts);
});

const CREATE_CHANGES: Record<string, (body: Record<string, unknown>) => void> = {
  'leaving out folder_id': (body) => delete body.folder_id,
  'leaving out file_name': (body) => delete body.file_name,
  'leaving out file_size': (body) => delete body.file_size,
  'giving file_size as "lots"': (body) => (body.file_size = 'lots'),
  'giving file_size as -5': (body) => (body.file_size = -5),
};

serverStep(
  When,
  /^a session is opened for a (\d+)-byte file(?:, (.+)| (with(?:out)? a (?:wrong )?token))?$/,
  async function (scenario, size: string, change: string | null, how: string | null) {
    const { probe } = scenario;
    const body = probe.createBody(Number(size), probe.nextFileName());
    let expect: Expectation | undefined;
    if (change !== null) {
      const apply = CREATE_CHANGES[change];
      if (!apply) throw new Error(`unknown change to the create body: ${change}`);
      apply(body);
      expect = { kind: 'refusal', rule: 'S-CREATE-REJECT', status: 400 };
    }
    scenario.createdSize = Number(size);
    scenario.sent(await probe.createRaw(body, credentialsOf(how), expect));
  },
);

serverStep(
  Then,
  'the server answers 201 with an upload_session whose total_parts fits its part_size and whose endpoints are absolute URLs',
  function (scenario) {
    const answer = scenario.lastAnswer;
    expectNo(statusProblem(answer, 201));
    expectNo(uploadSessionProblem(answer.body, scenario.createdSize));
  },
);

// --- parts ----------------------------------------------------------------------------------------

const storeNumbered = (scenario: ServerScenario, numbers: number[]) => scenario.probe.storeParts(scenario.session, numbers);
const range = (offset: number, length: number) => ({ lo: offset, hi: offset + length - 1 });

serverStep(Given, 'part {int} was stored', async function (scenario, number: number) {
  await storeNumbered(scenario, [number]);
});
serverStep(Given, 'parts {int} and {int} were stored', async function (scenario, first: number, second: number) {
  await storeNumbered(scenario, [first, second]);
});
serverStep(Given, 'every part was stored', async function (scenario) {
  await storeNumbered(
    scenario,
    Array.from({ length: scenario.probe.partCount(scenario.session) }, (_, index) => index + 1),
  );
});
serverStep(Given, 'every part but the last was stored', async function (scenario) {
  await storeNumbered(
    scenario,
    Array.from({ length: scenario.probe.partCount(scenario.session) - 1 }, (_, index) => index + 1),
  );
});

/** One way to send part N: the request, and (for crafted ones) the rule that says it must be refused. */
interface PartVariant {
  /** Undefined: a correct request, expected stored in a free range and refused as an overlap in an occupied one. */
  refusedBy?: string;
  send(scenario: ServerScenario, file: ProbeSession, number: number, expect: Expectation | undefined): Promise<JsonResponse>;
}

const refusal = (rule: string): Expectation => ({ kind: 'refusal', rule });
const withHeaders = (overrides: (lo: number, hi: number, total: number) => Record<string, string | undefined>, rule: string): PartVariant => ({
  refusedBy: rule,
  send: ({ probe }, file, number, expect) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const { lo, hi } = range(offset, bytes.length);
    return probe.putPart(file, { lo, hi }, bytes, overrides(lo, hi, file.fileSize), 'token', expect);
  },
});
const resized = (delta: number): PartVariant => ({
  refusedBy: 'S-PART-SIZE-REJECT',
  send: ({ probe }, file, number, expect) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const body = probe.bytesAt(file, offset, bytes.length + delta);
    return probe.putPart(file, range(offset, body.length), body, {}, 'token', expect);
  },
});
const unauthorized = (credentials: Credentials): PartVariant => ({
  refusedBy: 'S-AUTH',
  send: ({ probe }, file, number) => probe.sendPart(file, number, credentials),
});

const PART_VARIANTS: Record<string, PartVariant> = {
  'as a correct client sends it': { send: ({ probe }, file, number) => probe.sendPart(file, number) },
  'again as a correct client sends it': { send: ({ probe }, file, number) => probe.sendPart(file, number) },
  'again with other bytes': {
    send: (scenario, file, number) => {
      const { offset, bytes } = scenario.probe.partBytes(file, number);
      const other = scenario.probe.otherBytesAt(file, offset, bytes.length);
      scenario.overlapped = { offset, other };
      return scenario.probe.putPart(file, range(offset, other.length), other);
    },
  },
  'one byte short': resized(-1),
  'one byte long': resized(1),
  'one byte late, still part_size bytes long': {
    refusedBy: 'S-RANGE-ALIGN-REJECT',
    send: ({ probe }, file, number, expect) => {
      const { offset } = probe.partBytes(file, number);
      const body = probe.bytesAt(file, offset + 1, file.session.part_size);
      return probe.putPart(file, range(offset + 1, body.length), body, {}, 'token', expect);
    },
  },
  'without a Content-Range': withHeaders(() => ({ 'content-range': undefined }), 'S-RANGE-MALFORMED-REJECT'),
  'with a Content-Range lacking "bytes "': withHeaders((lo, hi, total) => ({ 'content-range': `${lo}-${hi}/${total}` }), 'S-RANGE-MALFORMED-REJECT'),
  'with a Content-Range of "bytes x-y/z"': withHeaders(() => ({ 'content-range': 'bytes x-y/z' }), 'S-RANGE-MALFORMED-REJECT'),
  'with a body 1000 bytes shorter than its range': {
    refusedBy: 'S-RANGE-MALFORMED-REJECT',
    send: ({ probe }, file, number, expect) => {
      const { offset, bytes } = probe.partBytes(file, number);
      return probe.putPart(file, range(offset, bytes.length), bytes.subarray(0, bytes.length - 1000), {}, 'token', expect);
    },
  },
  'with a range one byte past the end of the file': {
    refusedBy: 'S-RANGE-MALFORMED-REJECT',
    send: ({ probe }, file, number, expect) => {
      const { offset, bytes } = probe.partBytes(file, number);
      const body = Buffer.concat([bytes, Buffer.alloc(1)]);
      return probe.putPart(file, range(offset, body.length), body, {}, 'token', expect);
    },
  },
  'without a Digest': withHeaders(() => ({ digest: undefined }), 'S-DIGEST-REJECT'),
  'with the Digest of other bytes': withHeaders(() => ({ digest: digestHeaderFor(sha1Of('other bytes')) }), 'S-DIGEST-REJECT'),
  'without a token': unauthorized('none'),
  'with a wrong token': unauthorized('wrong'),
};

async function sendVariant(scenario: ServerScenario, which: string, how: string): Promise<{ answer: JsonResponse; refusedBy?: string }> {
  const variant = PART_VARIANTS[how];
  if (!variant) throw new Error(`no such way to send a part: "${how}"`);
  const file = scenario.session;
  const answer = await variant.send(scenario, file, partNumber(scenario.probe, file, which), variant.refusedBy ? refusal(variant.refusedBy) : undefined);
  scenario.sent(answer);
  return { answer, refusedBy: variant.refusedBy };
}

serverStep(When, /^(part \d+|the last part) is sent (.+)$/, async function (scenario, which: string, how: string) {
  await sendVariant(scenario, which, how);
});

/** A crafted part that must be refused, as a step towards something else: one that is not refused is its rule's failure. */
serverStep(Given, /^(part \d+|the last part) was sent (.+), and refused$/, async function (scenario, which: string, how: string) {
  const { answer, refusedBy } = await sendVariant(scenario, which, how);
  const rule = refusedBy ?? 'S-OVERLAP-REJECT';
  if (answer.status < 400 || answer.status >= 500) {
    throw new Blocked([rule], `${which} sent ${how} was answered ${describeResponse(answer)}, not refused`);
  }
});

serverStep(Then, "the server answers 200 with the part's record: its offset, its size and the hex SHA-1 of its bytes", function (scenario) {
  const exchange = scenario.probe.exchanges[scenario.sentAt ?? -1];
  if (!exchange?.range) throw new Error('the part sent has no range to judge against');
  expectNo(partRecordProblem(scenario.lastAnswer, { offset: exchange.range.lo, size: exchange.body.length, sha1: exchange.body.sha1 }));
});

// A crafted request wrongly accepted already marked its session as changed (the probe saw the 2xx).
serverStep(Then, /^the server refuses (?:it|the commit) with a 4xx$/, function (scenario) {
  expectNo(refusalProblem(scenario.lastAnswer));
});

serverStep(Then, /^the server answers (\d{3})(?: (\w+))?$/, function (scenario, status: string, code: string | null) {
  expectNo(statusProblem(scenario.lastAnswer, Number(status), code ?? undefined));
});

/** Every page of the session's parts, a large page at a time. */
const listEverything = (scenario: ServerScenario): Promise<Listing> => scenario.probe.listAll(scenario.session, { limit: MAX_LIST_LIMIT });

serverStep(Then, 'no part is stored in the session', async function (scenario) {
  const listing = await listEverything(scenario);
  const expected = scenario.probe.expectedParts(scenario.session);
  const known = new Map(expected.map((part) => [part.offset, part.size]));
  // Only what the refused part could have added: listing faults of other kinds are S-LIST-PARTS's to judge.
  const extra = listing.entries.find((entry) => typeof entry.offset !== 'number' || known.get(entry.offset) !== entry.size);
  const total = listing.totalCounts.find((count) => typeof count === 'number' && count > expected.length);
  if (extra || total !== undefined) {
    scenario.changedByRefusal();
    throw new Error(
      `the part was refused, but the session's parts say otherwise: ${extra ? `the listing holds ${JSON.stringify(extra)}` : `total_count is ${String(total)}`}, ${expected.length} part(s) were stored`,
    );
  }
});

// --- noting a session, and finding it unchanged -----------------------------------------------------

async function noteSession(scenario: ServerScenario, withStatus: boolean): Promise<SessionNote> {
  const listing = await listEverything(scenario);
  const entries = listing.entries
    .map((entry) => ({ part_id: entry.part_id, offset: entry.offset, size: entry.size, sha1: entry.sha1 }))
    .sort((a, b) => Number(a.offset) - Number(b.offset));
  const note: SessionNote = { listing: JSON.stringify({ total_count: listing.totalCounts[0], entries }) };
  if (withStatus) {
    const status = await scenario.probe.status(scenario.session);
    if (status.status !== 200) throw new Blocked(['S-STATUS'], `the session's status could not be read: ${describeResponse(status)}`);
    note.status = JSON.stringify({ num_parts_processed: (status.body as { num_parts_processed?: unknown } | undefined)?.num_parts_processed });
  }
  return note;
}

serverStep(Given, /^the session's parts( and status)? were noted$/, async function (scenario, status: string | null) {
  scenario.noted = await noteSession(scenario, status !== null);
});

serverStep(Then, /^the session's parts( and status)? are as noted$/, async function (scenario, status: string | null) {
  const before = scenario.noted;
  if (!before) throw new Error('nothing was noted: a Given step should note the session first');
  const after = await noteSession(scenario, status !== null).catch((error: unknown) => {
    // The session no longer answers: the refused request ended it.
    if (error instanceof Blocked) {
      scenario.changedByRefusal();
      throw new Error(`after the refused request, the session no longer answers as before: ${error.message}`);
    }
    throw error;
  });
  const changed = [
    after.listing !== before.listing ? `its parts were ${before.listing}, now ${after.listing}` : undefined,
    after.status !== before.status ? `its status was ${before.status}, now ${after.status}` : undefined,
  ].filter((change) => change !== undefined);
  if (changed.length > 0) {
    scenario.changedByRefusal();
    throw new Error(`the refused request changed the session: ${changed.join('; ')}`);
  }
});

// --- listing, status, abort -----------------------------------------------------------------------

serverStep(Then, /^the parts listed are exactly (?:none|parts \d+ and \d+), with total_count (\d+)$/, async function (scenario, total: string) {
  const expected = scenario.probe.expectedParts(scenario.session);
  if (expected.length !== Number(total)) throw new Error(`the scenario stored ${expected.length} parts, not ${total}`);
  const page = await scenario.probe.listParts(scenario.session);
  expectNo(partsPageProblem(page, expected));
  expectNo(listedPartsProblem((page.body as { entries: unknown[] }).entries, expected, true));
});

serverStep(
  Then,
  'a page of limit {int} at offset {int} and a page of limit {int} at offset {int} hold one part each, together parts {int} and {int}',
  async function (scenario, limitA: number, offsetA: number, limitB: number, offsetB: number, _first: number, _second: number) {
    const expected = scenario.probe.expectedParts(scenario.session);
    const seen: unknown[] = [];
    for (const [limit, offset] of [
      [limitA, offsetA],
      [limitB, offsetB],
    ] as const) {
      const page = await scenario.probe.listParts(scenario.session, { limit, offset });
      const problem = partsPageProblem(page, expected, { limit, offset });
      if (problem) throw new Error(`the page of limit ${limit} at offset ${offset}: ${problem}`);
      seen.push(...(page.body as { entries: unknown[] }).entries);
    }
    expectNo(listedPartsProblem(seen, expected, true));
  },
);

serverStep(Given, "more parts were stored than one page of the server's default listing holds", async function (scenario) {
  const { probe } = scenario;
  let file = scenario.session;
  const first = await probe.listParts(file);
  const defaultPage = (first.body as { limit?: unknown } | undefined)?.limit;
  if (first.status !== 200) throw new Error(`a new session's parts could not be listed: ${describeResponse(first)}`);
  if (typeof defaultPage !== 'number' || !Number.isSafeInteger(defaultPage) || defaultPage < 1) {
    this.attach(`not judged: the listing states no limit (${JSON.stringify(defaultPage)}), so the kit cannot tell the server's default page`, 'text/plain');
    return 'skipped';
  }
  const needed = defaultPage + 1;
  const tooLarge = (session: ProbeSession) => needed * session.session.part_size > PAGING_MAX_BYTES;
  if (probe.partCount(file) < needed) {
    if (tooLarge(file)) {
      this.attach(
        `not judged: one part more than the default page of ${defaultPage} is ${needed} parts of ${file.session.part_size} bytes, more than the ${PAGING_MAX_BYTES} bytes this probe may upload`,
        'text/plain',
      );
      return 'skipped';
    }
    await probe.abort(file.session);
    const partSize = file.session.part_size;
    file = await probe.openSession(needed, (needed - 1) * partSize + Math.ceil(partSize / 2));
    scenario.file = file;
    if (tooLarge(file)) {
      this.attach(
        `not judged: the server cuts a file of ${needed} parts into parts of ${file.session.part_size} bytes, too many bytes for this probe`,
        'text/plain',
      );
      return 'skipped';
    }
  }
  await storeNumbered(
    scenario,
    Array.from({ length: needed }, (_, index) => index + 1),
  );
  scenario.paging = { stored: needed, defaultPage };
  return undefined;
});

function pagingProblem(listing: Listing, expected: readonly { offset: number }[], how: string): string | undefined {
  const wrongTotal = listing.totalCounts.findIndex((count) => count !== expected.length);
  if (wrongTotal >= 0)
    return `${how}, page ${wrongTotal + 1} gives total_count ${JSON.stringify(listing.totalCounts[wrongTotal])}, ${expected.length} parts were stored`;
  return undefined;
}

serverStep(Then, 'paging by offset alone, a default page at a time, lists every stored part once, with total_count', async function (scenario) {
  const paging = scenario.paging;
  if (!paging) throw new Error('no parts were stored for paging');
  const expected = scenario.probe.expectedParts(scenario.session);
  const listing = await scenario.probe.listAll(scenario.session, { pageSize: paging.defaultPage });
  const how = `paging by offset alone (the default page is ${paging.defaultPage} parts, ${expected.length} were stored)`;
  expectNo(pagingProblem(listing, expected, how));
  const problem = listedPartsProblem(listing.entries, expected, true);
  if (problem) throw new Error(`${how}: ${problem}`);
});

serverStep(Then, 'one page with a limit of as many parts as were stored lists every stored part', async function (scenario) {
  const expected = scenario.probe.expectedParts(scenario.session);
  const limit = Math.min(expected.length, MAX_LIST_LIMIT);
  const listing = await scenario.probe.listAll(scenario.session, { limit });
  const how = `with limit ${limit}`;
  expectNo(pagingProblem(listing, expected, how));
  const problem = listedPartsProblem(listing.entries, expected, true);
  if (problem) throw new Error(`${how}: ${problem}`);
});

serverStep(Then, "the session's status is the upload_session with num_parts_processed {int}", async function (scenario, processed: number) {
  const file = scenario.session;
  const stored = scenario.probe.expectedParts(file).length;
  if (stored !== processed) throw new Error(`the scenario stored ${stored} parts, not ${processed}`);
  expectNo(sessionStatusProblem(await scenario.probe.status(file), file.session.id, stored));
});

serverStep(When, /^the session is aborted(?: (without a token|with a wrong token))?$/, async function (scenario, how: string | null) {
  scenario.sent(await scenario.probe.abort(scenario.session.session, credentialsOf(how)));
});

serverStep(
  When,
  /^the session's (parts are listed|status is asked) (without a token|with a wrong token)$/,
  async function (scenario, what: string, how: string) {
    const { probe } = scenario;
    const credentials = credentialsOf(how);
    scenario.sent(what === 'parts are listed' ? await probe.listParts(scenario.session, {}, credentials) : await probe.status(scenario.session, credentials));
  },
);

serverStep(Then, 'the session is gone: its status, its parts and a new part are all refused with a 4xx', async function (scenario) {
  const { probe } = scenario;
  const file = scenario.session;
  const checks: [string, JsonResponse][] = [
    ['its status', await probe.status(file)],
    ['its parts', await probe.listParts(file)],
    ['part 2', await probe.sendPart(file, 2)],
  ];
  const alive = checks.filter(([, answer]) => refusalProblem(answer) !== undefined).map(([what, answer]) => `${what}: ${describeResponse(answer)}`);
  if (alive.length > 0) throw new Error(`after the abort answered ${scenario.lastAnswer.status}, the session still answers: ${alive.join('; ')}`);
});

serverStep(When, 'the status of an unknown session is asked', async function (scenario) {
  const file = scenario.session;
  const unknown = file.session.session_endpoints.status.replace(file.session.id, 'F'.repeat(file.session.id.length));
  scenario.sent(await scenario.probe.send({ method: 'GET', url: unknown }));
});

serverStep(Then, 'the error answer is Box\'s ClientError JSON: type "error", the HTTP status, a code, a message and a request_id', function (scenario) {
  const answer = scenario.lastAnswer;
  if (answer.status < 400) {
    // Refusing it is another rule's business; with no error there is no shape to judge.
    this.attach(`not judged: the request was answered HTTP ${answer.status}, not an error`, 'text/plain');
    return 'skipped';
  }
  expectNo(errorShapeProblem(answer));
  return undefined;
});

// --- commit ---------------------------------------------------------------------------------------

serverStep(
  When,
  /^the session is committed with every part and (the file's Digest|the Digest of other bytes|no Digest)(?: (without a token|with a wrong token))?$/,
  async function (scenario, digest: string, how: string | null) {
    const { probe } = scenario;
    const file = scenario.session;
    const header = digest === "the file's Digest" ? probe.wholeFileDigest(file) : digest === 'no Digest' ? undefined : digestHeaderFor(sha1Of('other bytes'));
    scenario.sent(await probe.commit(file, { digest: header, credentials: credentialsOf(how) }));
  },
);

serverStep(When, 'the session is committed with the stored parts and the Digest of their bytes, as if they were the whole file', async function (scenario) {
  const { probe } = scenario;
  const file = scenario.session;
  const covered = probe.expectedParts(file).reduce((end, part) => Math.max(end, part.offset + part.size), 0);
  scenario.sent(await probe.commit(file, { digest: digestHeaderFor(sha1Of(probe.bytesAt(file, 0, covered))) }));
});

/** A correct commit after a refused one: 201 shows the refused commit neither ended the session nor created the file. */
async function commitAgainProvesNoFile(scenario: ServerScenario): Promise<void> {
  const { probe } = scenario;
  const file = scenario.session;
  const again = await probe.commit(file, { digest: probe.wholeFileDigest(file) });
  if (again.status === 201) return;
  if (again.status === 404 || again.status === 409 || again.status === 410) {
    scenario.changedByRefusal();
    throw new Error(
      `after the refused commit, a correct commit is answered ${describeResponse(again)}: the refused commit ${again.status === 409 ? 'created the file' : 'ended the session'}`,
    );
  }
  throw new Blocked(['S-COMMIT-OK'], `a correct commit after the refused one was answered ${describeResponse(again)}`);
}

serverStep(Then, 'committing again as a correct client does creates the file, so none was created before', async function (scenario) {
  await commitAgainProvesNoFile(scenario);
});

serverStep(Then, 'after the last part is stored, committing again creates the file, so none was created before', async function (scenario) {
  await storeNumbered(scenario, [scenario.probe.partCount(scenario.session)]);
  await commitAgainProvesNoFile(scenario);
});

serverStep(Then, "the commit is answered 201, after any 202s, with a file entry of the file's size and SHA-1", function (scenario) {
  const file = scenario.session;
  const answer = scenario.lastAnswer;
  expectNo(statusProblem(answer, 201));
  const entry = (answer.body as { entries?: Record<string, unknown>[] } | undefined)?.entries?.[0];
  if (!entry || entry.type !== 'file' || typeof entry.id !== 'string') throw new Error(`the answer has no file entry: ${answer.text.slice(0, 200)}`);
  if (entry.size !== file.fileSize) throw new Error(`the committed file is ${JSON.stringify(entry.size)} bytes, ${file.fileSize} were uploaded`);
  const sha1 = scenario.probe.wholeFileSha1(file).toString('hex');
  if (entry.sha1 !== sha1) throw new Error(`the committed file's sha1 is ${JSON.stringify(entry.sha1)}, the uploaded bytes hash to ${sha1}`);
});

serverStep(Then, "the file's content, where the server serves it, is the bytes uploaded", async function (scenario) {
  const file = scenario.session;
  const id = (scenario.lastAnswer.body as { entries?: { id?: unknown }[] } | undefined)?.entries?.[0]?.id;
  if (typeof id !== 'string') throw new Error('the commit answer names no file');
  const sha1 = scenario.probe.wholeFileSha1(file).toString('hex');
  const content = await scenario.probe.readContent(id, { size: file.fileSize, sha1 });
  if (content.status !== 200) {
    this.attach(
      `the server does not serve the file's content at GET …/files/${id}/content (HTTP ${content.status}): the file entry was judged instead`,
      'text/plain',
    );
    return;
  }
  if (content.content?.length !== file.fileSize || content.content.sha1 !== sha1)
    throw new Error(
      `the committed file's content is ${content.content?.length} bytes hashing to ${content.content?.sha1}; ${file.fileSize} bytes hashing to ${sha1} were uploaded`,
    );
});

/** SHA-1 of the file with `other` in place of the bytes at `offset`. */
function sha1WithReplaced(probe: ServerProbe, file: ProbeSession, replaced: { offset: number; other: Buffer }): string {
  const hash = createHash('sha1');
  hash.update(probe.bytesAt(file, 0, replaced.offset));
  hash.update(replaced.other);
  const end = replaced.offset + replaced.other.length;
  hash.update(probe.bytesAt(file, end, file.fileSize - end));
  return hash.digest('hex');
}

serverStep(Then, 'once the other parts are stored, the committed file holds the bytes first sent', async function (scenario) {
  const { probe } = scenario;
  const file = scenario.session;
  const replaced = scenario.overlapped;
  if (!replaced) throw new Error('no part was sent again with other bytes');
  const stored = new Set(probe.expectedParts(file).map((part) => part.offset));
  const missing = Array.from({ length: probe.partCount(file) }, (_, index) => index + 1).filter((number) => !stored.has(probe.partBytes(file, number).offset));
  await probe.storeParts(file, missing);
  const firstBytes = probe.wholeFileSha1(file).toString('hex');
  const otherBytes = () => sha1WithReplaced(probe, file, replaced);
  const overwritten = (how: string) => {
    scenario.changedByRefusal();
    return new Error(`the overlapping part was refused, but ${how}: it replaced the bytes stored at offset ${replaced.offset}`);
  };
  const committed = await probe.commit(file, { digest: probe.wholeFileDigest(file) });
  if (committed.status !== 201) {
    // Refused: because the stored bytes changed, or because the server does not commit correct files?
    const other = await probe.commit(file, { digest: digestHeaderFor(Buffer.from(otherBytes(), 'hex')), expect: { kind: 'any' } });
    if (other.status === 201)
      throw overwritten(
        `a commit with the Digest of the file as first sent was answered ${describeResponse(committed)}, and one with the Digest of the file with the other bytes was accepted`,
      );
    throw new Blocked(['S-COMMIT-OK'], `a correct commit was answered ${describeResponse(committed)}`);
  }
  const entry = (committed.body as { entries?: { id?: unknown; sha1?: unknown }[] } | undefined)?.entries?.[0];
  const id = entry?.id;
  const content = typeof id === 'string' ? await probe.readContent(id, { size: file.fileSize, sha1: firstBytes }) : undefined;
  const served = content?.status === 200 ? content.content?.sha1 : undefined;
  const held = served ?? entry?.sha1;
  const source = served !== undefined ? "the committed file's content" : "the committed file's sha1 (the server does not serve its content)";
  if (held === firstBytes) return;
  if (held === otherBytes()) throw overwritten(`${source} is that of the other bytes`);
  throw new Blocked(['S-COMMIT-OK'], `${source} is ${JSON.stringify(held)}, neither the file as first sent (${firstBytes}) nor with the other bytes`);
});
