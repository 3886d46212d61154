import { After, Before, type DataTable, Given, Then, When } from '@cucumber/cucumber';
import { SERVER_EXCHANGES_MEDIA_TYPE, type ServerExchangeAttachment } from '../src/grader/attachments.ts';
import { FINDINGS_MEDIA_TYPE, type Finding, type FindingsAttachment } from '../src/grader/findings.ts';
import { jsonMismatch } from '../src/grader/json-expect.ts';
import { refusalProblem, statusProblem } from '../src/grader/server-checks.ts';
import { judgeServerExchanges } from '../src/grader/server-findings.ts';
import { KIT_ERROR_MEDIA_TYPE, reportKitErrors } from '../src/errors.ts';
import { describeResponse } from '../src/http/transport.ts';
import { describeExpectation, reproductionRequestsOf } from '../src/probe/exchange.ts';
import { SERVER_REPRODUCTION_MEDIA_TYPE, type ServerReproductionAttachment } from '../src/grader/reproduction.ts';
import { serverTarget } from '../src/kit/server-target.ts';
import { GaveUpWaiting } from '../src/errors.ts';
import { runProbeSpace } from '../src/probe/cases.ts';
import { sendOtherBytes } from '../src/probe/part-variants.ts';
import { Blocked, MAX_LIST_LIMIT, ServerProbe, type ServerTarget } from '../src/probe/probe.ts';
import { ServerScenario } from '../src/probe/scenario.ts';
import { type SequencesOutcome, checkSequences } from '../src/probe/sequences.ts';
import { SERVER_PROBE_SPACES } from '../src/probe/spaces.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { type ServerRuleId, isServerRuleId } from '../src/protocol/rules.ts';
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
      const run = body as (this: KitWorld, scenario: ServerScenario, ...rest: unknown[]) => Promise<'skipped' | void> | 'skipped' | void;
      return (await reportKitErrors(this.attach, (async () => run.call(this, scenario, ...args))())) ?? undefined;
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

/** Every finding of the scenario so far: its answers judged, and what its procedures saw. */
function findingsOf(scenario: ServerScenario): Finding[] {
  const { probe } = scenario;
  return [...judgeServerExchanges({ run: scenario.name, exchanges: probe.exchanges, divergedAt: probe.divergences() }), ...scenario.findings];
}
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
      exchange.response
        ? describeResponse(exchange.response)
        : exchange.hung
          ? exchange.hung.reason
          : exchange.gaveUp
            ? 'gave up waiting'
            : `no answer: ${exchange.failure}`;
    this.attach(exchanges.map((exchange) => `#${exchange.index} ${exchange.request} -> ${outcome(exchange)}`).join('\n'), 'text/plain');
    const evidence: ServerExchangeAttachment[] = exchanges.map((exchange) => ({
      request: exchange.request,
      status: exchange.response?.status,
      body: exchange.response?.text.slice(0, 2000),
      failure: exchange.failure ?? exchange.hung?.reason,
      method: exchange.method,
      url: exchange.url,
      sent: exchange.sent,
      expected: describeExpectation(exchange.expect),
      ...(exchange.label === undefined ? {} : { label: exchange.label }),
    }));
    this.attach(JSON.stringify(evidence), SERVER_EXCHANGES_MEDIA_TYPE);
  }
  if (exchanges.length > 0) {
    const reproduction: ServerReproductionAttachment = { run: scenario.name, requests: reproductionRequestsOf(exchanges) };
    this.attach(JSON.stringify(reproduction), SERVER_REPRODUCTION_MEDIA_TYPE);
  }
  const findings: FindingsAttachment = { findings: findingsOf(scenario), blocked: scenario.blocked };
  if (findings.findings.length > 0 || findings.blocked.length > 0) this.attach(JSON.stringify(findings), FINDINGS_MEDIA_TYPE);
});

// --- probe spaces -----------------------------------------------------------------------------------

/** The rule a server scenario states: its one rule tag. */
function ruleOf(scenario: ServerScenario): ServerRuleId {
  const [rule] = scenario.rules;
  if (rule === undefined || !isServerRuleId(rule)) throw new Error(`the scenario names no server rule: ${scenario.rules.join(' ')}`);
  return rule;
}

serverStep(When, "every case of the rule's probe space is sent:", async function (scenario, table: DataTable) {
  const rule = ruleOf(scenario);
  const stated = table.hashes().map((row) => ({ name: row.dimension ?? '', values: (row.values ?? '').split(' / ') }));
  const problem = jsonMismatch(`the feature's table is not ${rule}'s probe space (src/probe/spaces.ts)`, stated, SERVER_PROBE_SPACES[rule].dimensions);
  if (problem) throw new Error(problem);
  await runProbeSpace(scenario, rule);
  for (const note of scenario.notJudged) this.attach(`not judged: ${note}`, 'text/plain');
});

const NO_CASE_BROKE_THE_RULE = [
  'every create was answered as its case expects',
  'every part was answered as its case expects',
  'every case was refused with a 4xx, and nothing refused was stored',
  "every case was answered 416 range_overlaps_existing_part, and the session's parts are as they were",
  'every page was answered as its case expects',
  'after every case num_parts_processed counted exactly the parts stored',
  'the abort was answered 204 and every later call was refused with a 4xx',
  "every commit was answered 201, after any 202s, with the file entry, and the file's content, where the server serves it, is the bytes uploaded",
  'every case was refused with a 4xx, and a correct commit afterwards created the file',
  "every case was answered 401, the session's parts and status were as before, and a correct commit afterwards created the file",
  'every error answer seen in the run is Box\'s ClientError JSON: type "error", the HTTP status, a code, a message and a request_id',
];
for (const text of NO_CASE_BROKE_THE_RULE)
  serverStep(Then, text, function (scenario) {
    const rule = ruleOf(scenario);
    const broken = findingsOf(scenario).filter((finding) => finding.rule === rule);
    const [first] = broken;
    if (first) throw new Error(`${first.message}${broken.length > 1 ? ` (and ${broken.length - 1} more)` : ''}`);
  });

// --- sessions -------------------------------------------------------------------------------------

serverStep(Given, 'an upload session for a file of at least {int} parts', async function (scenario, parts: number) {
  scenario.file = await scenario.probe.openSession(parts);
});

serverStep(Given, 'part {int} was stored', async function (scenario, number: number) {
  await scenario.probe.storeParts(scenario.session, [number]);
});
serverStep(Given, 'every part but the last was stored', async function (scenario) {
  await scenario.probe.storeParts(scenario.session, numbersUpTo(scenario.probe.partCount(scenario.session) - 1));
});

serverStep(When, 'part {int} is sent again with other bytes', async function (scenario, number: number) {
  scenario.overlappedPart = number;
  scenario.sent(await sendOtherBytes(scenario.probe, scenario.session, number));
});

serverStep(Then, /^the server answers (\d{3})(?: (\w+))?$/, function (scenario, status: string, code: string | null) {
  expectNo(statusProblem(scenario.lastAnswer, Number(status), code ?? undefined));
});

serverStep(Then, 'the server refuses the commit with a 4xx', function (scenario) {
  expectNo(refusalProblem(scenario.lastAnswer));
});

serverStep(Given, "the session's parts were noted", async function (scenario) {
  scenario.noted = await scenario.note(false);
});

serverStep(Then, "the session's parts are as noted", async function (scenario) {
  expectNo(await scenario.changeSinceNote(false));
});

serverStep(Then, 'once the other parts are stored, the committed file holds the bytes first sent', async function (scenario) {
  expectNo(await scenario.overlapReachedFileProblem());
});

// --- listing beyond the default page --------------------------------------------------------------

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

// --- a commit of fewer parts than the file ---------------------------------------------------------

serverStep(When, 'the session is committed with the stored parts and the Digest of their bytes, as if they were the whole file', async function (scenario) {
  const { probe } = scenario;
  const file = scenario.session;
  const covered = probe.expectedParts(file).reduce((end, part) => Math.max(end, part.offset + part.size), 0);
  scenario.sent(await probe.commit(file, { digest: digestHeaderFor(sha1Of(probe.bytesAt(file, 0, covered))) }));
});

serverStep(Then, 'after the last part is stored, committing again creates the file, so none was created before', async function (scenario) {
  await scenario.probe.storeParts(scenario.session, [scenario.probe.partCount(scenario.session)]);
  expectNo(await scenario.commitAgainProblem());
});

// --- generated sequences --------------------------------------------------------------------------

/** One check of generated sequences per server graded: every scenario of the outline judges its rule on it. */
const sequences = new WeakMap<ServerTarget, Promise<SequencesOutcome>>();

serverStep(When, 'generated sequences of calls are sent, each to a new session', async function (scenario) {
  const target = serverTarget();
  let outcome = sequences.get(target);
  if (!outcome) {
    outcome = checkSequences(target, { depth: scenario.probe.depth, ...(target.sequenceSeed === undefined ? {} : { seed: target.sequenceSeed }) });
    sequences.set(target, outcome);
  }
  scenario.sequences = await outcome;
});

serverStep(Then, '{word} held in every generated sequence', function (scenario, rule: string) {
  const outcome = scenario.sequences;
  if (!outcome) throw new Error('no sequences were sent');
  this.attach(`${outcome.runs} sequences drawn from seed ${outcome.seed}`, 'text/plain');
  if (outcome.blocked && !outcome.blocked.blockedBy.includes(rule as ServerRuleId)) throw new Blocked(outcome.blocked.blockedBy, outcome.blocked.reason);
  const example = outcome.counterexample;
  if (!example) return;
  scenario.findings.push(...example.findings);
  const [first] = example.findings;
  if (first) {
    const reproduction: ServerReproductionAttachment = { run: first.run, requests: reproductionRequestsOf(example.exchanges) };
    this.attach(JSON.stringify(reproduction), SERVER_REPRODUCTION_MEDIA_TYPE);
  }
  const broken = example.findings.find((finding) => finding.rule === rule);
  if (broken) throw new Error(`${broken.message} [${broken.run}; fast-check path ${example.path}]`);
});
