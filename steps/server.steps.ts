import { setTimeout as sleep } from 'node:timers/promises';
import { After, Before, Given, Then, When } from '@cucumber/cucumber';
import { SERVER_EXCHANGES_MEDIA_TYPE, type ServerExchangeAttachment } from '../src/grader/attachments.ts';
import { FINDINGS_MEDIA_TYPE, type FindingsAttachment } from '../src/grader/findings.ts';
import {
  committedFileProblem,
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
import { PART_VARIANTS } from '../src/probe/part-variants.ts';
import { Blocked, MAX_LIST_LIMIT, ServerProbe } from '../src/probe/probe.ts';
import { ServerScenario } from '../src/probe/scenario.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { uploadSessionProblem } from '../src/protocol/shapes.ts';
import type { KitWorld } from './support/world.ts';

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

const CREDENTIALS: Record<string, Credentials> = { 'without a token': 'none', 'with a wrong token': 'wrong' };
const credentialsOf = (how: string | null | undefined): Credentials => (how ? (CREDENTIALS[how] ?? 'token') : 'token');
/** Waits before reading a count still below the parts stored again; after the last read, the count is judged. */
const STATUS_SETTLE_WAITS_MS = [1000, 2000, undefined];
const numbersUpTo = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

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
    const outcome = (exchange: (typeof exchanges)[number]) =>
      exchange.response ? describeResponse(exchange.response) : exchange.gaveUp ? 'gave up waiting' : `no answer: ${exchange.failure}`;
    this.attach(exchanges.map((exchange) => `#${exchange.index} ${exchange.request} -> ${outcome(exchange)}`).join('\n'), 'text/plain');
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

serverStep(Given, 'part {int} was stored', async function (scenario, number: number) {
  await scenario.probe.storeParts(scenario.session, [number]);
});
serverStep(Given, 'parts {int} and {int} were stored', async function (scenario, first: number, second: number) {
  await scenario.probe.storeParts(scenario.session, [first, second]);
});
serverStep(Given, 'every part was stored', async function (scenario) {
  await scenario.probe.storeParts(scenario.session, numbersUpTo(scenario.probe.partCount(scenario.session)));
});
serverStep(Given, 'every part but the last was stored', async function (scenario) {
  await scenario.probe.storeParts(scenario.session, numbersUpTo(scenario.probe.partCount(scenario.session) - 1));
});

async function sendVariant(scenario: ServerScenario, which: string, how: string): Promise<{ answer: JsonResponse; refusedBy?: string }> {
  const variant = PART_VARIANTS[how];
  if (!variant) throw new Error(`no such way to send a part: "${how}"`);
  const { probe } = scenario;
  const file = scenario.session;
  const number = which === 'the last part' ? probe.partCount(file) : Number(/\d+/.exec(which)?.[0]);
  if (variant.otherBytes) scenario.overlappedPart = number;
  const answer = await variant.send(probe, file, number, variant.refusedBy ? { kind: 'refusal', rule: variant.refusedBy } : undefined);
  scenario.sent(answer);
  return { answer, refusedBy: variant.refusedBy };
}

serverStep(When, /^(part \d+|the last part) is sent (.+)$/, async function (scenario, which: string, how: string) {
  await sendVariant(scenario, which, how);
});

/** A crafted part that must be refused, as a step towards something else: one that is not refused is its rule's failure. */
serverStep(Given, /^(part \d+|the last part) was sent (.+), and refused$/, async function (scenario, which: string, how: string) {
  const { answer, refusedBy } = await sendVariant(scenario, which, how);
  if (answer.status < 400 || answer.status >= 500)
    throw new Blocked([refusedBy ?? 'S-OVERLAP-REJECT'], `${which} sent ${how} was answered ${describeResponse(answer)}, not refused`);
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

serverStep(Then, 'no part is stored in the session', async function (scenario) {
  expectNo(await scenario.persistedProblem());
});

serverStep(Given, /^the session's parts( and status)? were noted$/, async function (scenario, status: string | null) {
  scenario.noted = await scenario.note(status !== null);
});

serverStep(Then, /^the session's parts( and status)? are as noted$/, async function (scenario, status: string | null) {
  expectNo(await scenario.changeSinceNote(status !== null));
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
  const notJudged = await scenario.storeMoreThanDefaultPage();
  if (notJudged === undefined) return undefined;
  this.attach(`not judged: ${notJudged}`, 'text/plain');
  return 'skipped';
});

serverStep(Then, 'paging by offset alone, a default page at a time, lists every stored part once, with total_count', async function (scenario) {
  const pageSize = scenario.defaultPage;
  if (pageSize === undefined) throw new Error('no parts were stored for paging');
  const listing = await scenario.probe.listAll(scenario.session, { pageSize });
  expectNo(scenario.pagedListingProblem(listing, `paging by offset alone (the default page is ${pageSize} parts)`));
});

serverStep(Then, 'one page with a limit of as many parts as were stored lists every stored part', async function (scenario) {
  const limit = Math.min(scenario.probe.expectedParts(scenario.session).length, MAX_LIST_LIMIT);
  expectNo(scenario.pagedListingProblem(await scenario.probe.listAll(scenario.session, { limit }), `with limit ${limit}`));
});

serverStep(Then, "the session's status is the upload_session with num_parts_processed {int}", async function (scenario, processed: number) {
  const file = scenario.session;
  const stored = scenario.probe.expectedParts(file).length;
  if (stored !== processed) throw new Error(`the scenario stored ${stored} parts, not ${processed}`);
  // A server may still be processing parts (its commits answer 202 meanwhile): a count below the parts stored is read again.
  for (const waitMs of STATUS_SETTLE_WAITS_MS) {
    const answer = await scenario.probe.status(file);
    if (sessionStatusProblem(answer, file.session.id, stored, true) !== undefined || waitMs === undefined) {
      expectNo(sessionStatusProblem(answer, file.session.id, stored));
      return;
    }
    if (sessionStatusProblem(answer, file.session.id, stored) === undefined) return;
    await sleep(waitMs);
  }
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

serverStep(Then, 'committing again as a correct client does creates the file, so none was created before', async function (scenario) {
  expectNo(await scenario.commitAgainProblem());
});

serverStep(Then, 'after the last part is stored, committing again creates the file, so none was created before', async function (scenario) {
  await scenario.probe.storeParts(scenario.session, [scenario.probe.partCount(scenario.session)]);
  expectNo(await scenario.commitAgainProblem());
});

serverStep(Then, "the commit is answered 201, after any 202s, with a file entry of the file's size and SHA-1", function (scenario) {
  const file = scenario.session;
  expectNo(committedFileProblem(scenario.lastAnswer, file.fileSize, scenario.probe.wholeFileSha1(file).toString('hex')));
});

serverStep(Then, "the file's content, where the server serves it, is the bytes uploaded", async function (scenario) {
  const { problem, notServed } = await scenario.downloadProblem(scenario.lastAnswer);
  if (notServed) this.attach(`${notServed}: the file entry was judged instead`, 'text/plain');
  expectNo(problem);
});

serverStep(Then, 'once the other parts are stored, the committed file holds the bytes first sent', async function (scenario) {
  expectNo(await scenario.overlapReachedFileProblem());
});
