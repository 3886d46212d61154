import { KIT_ERROR_MEDIA_TYPE } from '../errors.ts';
import { RULE_TAG, type Rule, type RuleLevel, type RuleSide } from '../protocol/rules.ts';
import {
  CLIENT_RUN_MEDIA_TYPE,
  type ClientRunAttachment,
  SERVER_EXCHANGES_MEDIA_TYPE,
  SILENT_RUN_MEDIA_TYPE,
  type ServerExchangeAttachment,
  type SilentRunAttachment,
} from './attachments.ts';
import { type BlockedRule, FINDINGS_MEDIA_TYPE, type Finding, type FindingsAttachment } from './findings.ts';
import { type Reproduction, SERVER_REPRODUCTION_MEDIA_TYPE, type ServerReproductionAttachment } from './reproduction.ts';

/** The few Cucumber message fields the grader reads (see @cucumber/messages). */
export interface CucumberEnvelope {
  pickle?: { id: string; name: string; uri: string; tags: readonly { name: string }[] };
  testCase?: { id: string; pickleId: string };
  testCaseStarted?: { id: string; testCaseId: string };
  testStepFinished?: { testCaseStartedId: string; testStepResult: { status: string; message?: string } };
  testCaseFinished?: { testCaseStartedId: string; willBeRetried?: boolean };
  attachment?: { testCaseStartedId?: string; mediaType: string; body: string; contentEncoding?: string };
}

/** A scenario's outcome. */
export type Status = 'passed' | 'failed' | 'skipped';
/** A rule's outcome: a scenario's, or `blocked` (never observed, because another rule's failure stopped every run that could show it). */
export type RuleStatus = Status | 'blocked';

/** What the steps attached to one scenario, decoded once (attachments.ts, findings.ts, reproduction.ts, errors.ts say what each is). */
export interface ScenarioEvidence {
  clientRuns: ClientRunAttachment[];
  silentRuns: SilentRunAttachment[];
  findings: FindingsAttachment[];
  /** The probe's exchanges, by exchange index. */
  serverExchanges: ServerExchangeAttachment[];
  serverReproductions: ServerReproductionAttachment[];
  /** Why the kit could not run the scenario (errors.ts). */
  kitErrors: string[];
}

export interface ScenarioResult {
  name: string;
  uri: string;
  tags: string[];
  /** Rule ids the scenario is tagged with. */
  rules: string[];
  status: Status;
  /** The first failing step's message. */
  message: string;
  evidence: ScenarioEvidence;
}

const noEvidence = (): ScenarioEvidence => ({
  clientRuns: [],
  silentRuns: [],
  findings: [],
  serverExchanges: [],
  serverReproductions: [],
  kitErrors: [],
});

/** Decodes one attachment into `evidence`; kinds the reports do not read (text/plain) are left out. */
function decodeAttachment(evidence: ScenarioEvidence, mediaType: string, body: string): void {
  switch (mediaType) {
    case CLIENT_RUN_MEDIA_TYPE:
      evidence.clientRuns.push(JSON.parse(body) as ClientRunAttachment);
      break;
    case SILENT_RUN_MEDIA_TYPE:
      evidence.silentRuns.push(JSON.parse(body) as SilentRunAttachment);
      break;
    case FINDINGS_MEDIA_TYPE:
      evidence.findings.push(JSON.parse(body) as FindingsAttachment);
      break;
    case SERVER_EXCHANGES_MEDIA_TYPE:
      evidence.serverExchanges = evidence.serverExchanges.concat(JSON.parse(body) as ServerExchangeAttachment[]);
      break;
    case SERVER_REPRODUCTION_MEDIA_TYPE:
      evidence.serverReproductions.push(JSON.parse(body) as ServerReproductionAttachment);
      break;
    case KIT_ERROR_MEDIA_TYPE:
      evidence.kitErrors.push(body);
      break;
  }
}

/** The evidence of attachments as Cucumber carries them. */
export function evidenceOf(attachments: readonly { mediaType: string; body: string }[]): ScenarioEvidence {
  const evidence = noEvidence();
  for (const { mediaType, body } of attachments) decodeAttachment(evidence, mediaType, body);
  return evidence;
}

/** The error's own line, without the "Error: " Cucumber's message starts with or the stack after it. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/^(Assertion)?Error: /, '');
}

const FAILING = new Set(['FAILED', 'UNDEFINED', 'AMBIGUOUS', 'PENDING', 'UNKNOWN']);

/**
 * Folds Cucumber's message stream into one result per scenario, as scenarios finish. With `decodeEvidence`
 * false (the live progress lines) attachments are not decoded and every result's evidence is empty.
 */
export class ScenarioCollector {
  readonly results: ScenarioResult[] = [];
  readonly #pickles = new Map<string, NonNullable<CucumberEnvelope['pickle']>>();
  /** Each pickle's place in the features (pickles come in the order of the feature files), and each result's. */
  readonly #pickleIndex = new Map<string, number>();
  readonly #places = new Map<ScenarioResult, number>();
  readonly #testCases = new Map<string, string>();
  readonly #started = new Map<string, { pickleId: string; steps: { status: string; message?: string }[]; evidence: ScenarioEvidence }>();
  readonly #decodeEvidence: boolean;

  constructor(
    private readonly onScenario?: (result: ScenarioResult) => void,
    { decodeEvidence = true }: { decodeEvidence?: boolean } = {},
  ) {
    this.#decodeEvidence = decodeEvidence;
  }

  /**
   * The results in the order of the features, not of finishing: scenarios run side by side finish in any order,
   * and a report (which finding of a rule leads, and so which reproduction) must not depend on it.
   */
  inFeatureOrder(): ScenarioResult[] {
    return [...this.results].sort((a, b) => (this.#places.get(a) ?? 0) - (this.#places.get(b) ?? 0));
  }

  accept(envelope: CucumberEnvelope): void {
    if (envelope.pickle) {
      this.#pickleIndex.set(envelope.pickle.id, this.#pickleIndex.size);
      this.#pickles.set(envelope.pickle.id, envelope.pickle);
    }
    if (envelope.testCase) this.#testCases.set(envelope.testCase.id, envelope.testCase.pickleId);
    if (envelope.testCaseStarted) {
      const pickleId = this.#testCases.get(envelope.testCaseStarted.testCaseId) ?? '';
      this.#started.set(envelope.testCaseStarted.id, { pickleId, steps: [], evidence: noEvidence() });
    }
    const attachment = envelope.attachment;
    if (this.#decodeEvidence && attachment?.testCaseStartedId && attachment.contentEncoding !== 'BASE64') {
      const started = this.#started.get(attachment.testCaseStartedId);
      if (started) decodeAttachment(started.evidence, attachment.mediaType, attachment.body);
    }
    if (envelope.testStepFinished) this.#started.get(envelope.testStepFinished.testCaseStartedId)?.steps.push(envelope.testStepFinished.testStepResult);
    if (envelope.testCaseFinished && !envelope.testCaseFinished.willBeRetried) {
      const started = this.#started.get(envelope.testCaseFinished.testCaseStartedId);
      const pickle = started && this.#pickles.get(started.pickleId);
      if (!started || !pickle) return;
      const failing = started.steps.find((step) => FAILING.has(step.status));
      const status: Status = failing ? 'failed' : started.steps.some((step) => step.status === 'SKIPPED') ? 'skipped' : 'passed';
      const tags = pickle.tags.map((tag) => tag.name);
      const result: ScenarioResult = {
        name: pickle.name,
        uri: pickle.uri,
        tags,
        rules: tags.flatMap((tag) => RULE_TAG.exec(tag)?.[1] ?? []),
        status,
        message: failing ? firstLine(failing.message ?? `step ${failing.status.toLowerCase()}`) : '',
        evidence: started.evidence,
      };
      this.#places.set(result, this.#pickleIndex.get(pickle.id) ?? 0);
      this.results.push(result);
      this.onScenario?.(result);
    }
  }
}

/** Marks the rules listed as known deviations. */
export function markExpectedFailures(rules: readonly RuleResult[], expected: ReadonlySet<string>): RuleResult[] {
  return rules.map((rule) => (expected.has(rule.id) ? { ...rule, expectedToFail: true } : rule));
}

/** The rule ids of an --expect-failures file: one per line, `#` starts a comment. */
export function parseExpectedFailures(text: string): string[] {
  return text
    .split('\n')
    .map((line) => (line.split('#')[0] ?? '').trim())
    .filter((line) => line !== '');
}

/** The scenario results held in a Cucumber message stream (messages.ndjson): what every report derives from. */
export function scenariosFromMessages(ndjson: string): ScenarioResult[] {
  const collector = new ScenarioCollector();
  for (const line of ndjson.split('\n')) if (line.trim() !== '') collector.accept(JSON.parse(line) as CucumberEnvelope);
  return collector.inFeatureOrder();
}

export interface RuleResult {
  id: string;
  level: RuleLevel;
  side: RuleSide;
  status: RuleStatus;
  scenarios: string[];
  /** The first finding (naming the run it was seen in), or the failed scenario's message; for a blocked rule, why. */
  evidence: string;
  /** Present only on blocked rules: the rules whose failures stopped the runs that could have shown this one. */
  blockedBy?: string[];
  /** Every observation that broke the rule, as data (failed rules only). */
  findings?: Finding[];
  statement: string;
  guide: { section: string; url: string; says: string };
  /** Listed in --expect-failures: a failure reported, but not gating; a pass that makes the list stale. */
  expectedToFail?: boolean;
  /** Failed rules: how to reproduce the failure outside the kit (grader/reproduction.ts). */
  reproduction?: Reproduction;
}

export type Verdict = 'conformant' | 'conformant-with-warnings' | 'non-conformant';

/**
 * Every finding and blocked entry attached by any scenario, each once: scenarios that judge the same run
 * (or the same generated sequences) each attach what it showed, and this is where they are made one.
 */
export function collectFindings(scenarios: readonly ScenarioResult[]): { findings: Finding[]; blocked: BlockedRule[] } {
  const findings = new Map<string, Finding>();
  const blocked = new Map<string, BlockedRule>();
  for (const scenario of scenarios) {
    for (const attachment of scenario.evidence.findings) {
      for (const finding of attachment.findings) findings.set(JSON.stringify([finding.rule, finding.run, finding.requests, finding.message]), finding);
      for (const entry of attachment.blocked) blocked.set(JSON.stringify([entry.rule, entry.run, entry.blockedBy, entry.reason]), entry);
    }
  }
  return { findings: [...findings.values()], blocked: [...blocked.values()] };
}

/** The client runs attached to the scenarios, by run id (the first attachment of each). */
export function clientRunsOf(scenarios: readonly ScenarioResult[]): Map<string, ClientRunAttachment> {
  const runs = new Map<string, ClientRunAttachment>();
  for (const scenario of scenarios) for (const run of scenario.evidence.clientRuns) if (!runs.has(run.runId)) runs.set(run.runId, run);
  return runs;
}

/** Why the kit could not run, as the first scenario that met it attached it (errors.ts). */
export function kitErrorOf(scenarios: readonly ScenarioResult[]): string | undefined {
  return scenarios.flatMap((scenario) => scenario.evidence.kitErrors)[0];
}

/** Where a finding was seen, for a reader: the client run's set-up, or the server scenario. */
export function describeRun(run: string, clientRuns: ReadonlyMap<string, ClientRunAttachment>): string {
  const client = clientRuns.get(run);
  if (!client) return run;
  const faults = client.setup.faults.length > 0 ? `; ${client.setup.faults.join('; ')}` : '';
  return `client run ${run}: a file of ${client.setup.fileSize} bytes in parts of ${client.setup.partSize}${faults}`;
}

/** A finding as a report's evidence line: the observation, then the run it was seen in. */
export function findingText(finding: Finding, clientRuns: ReadonlyMap<string, ClientRunAttachment>): string {
  return `${finding.message} [${describeRun(finding.run, clientRuns)}]`;
}

/**
 * Folds the scenarios and every finding attached anywhere into one result per rule:
 * - skipped: none of the rule's scenarios ran (left out by --tags), or they ran and the situation the rule
 *   needs never arose and nothing was seen anywhere;
 * - failed: a finding for the rule in any run (its own scenarios' or any other), or one of its scenarios failed;
 * - passed: otherwise, if one of its scenarios passed;
 * - blocked: otherwise, if some run could not show it because other rules' failures stopped that run
 *   (`blockedBy`: the union of those rules).
 */
export function gradeRules(rules: readonly Rule[], scenarios: readonly ScenarioResult[]): RuleResult[] {
  const { findings, blocked } = collectFindings(scenarios);
  const clientRuns = clientRunsOf(scenarios);
  return rules.map((rule) => {
    const own = scenarios.filter((scenario) => scenario.rules.includes(rule.id));
    const base = {
      id: rule.id,
      level: rule.level,
      side: rule.side,
      scenarios: own.map((scenario) => scenario.name),
      statement: rule.statement,
      guide: { ...rule.guide },
    };
    if (own.length === 0) return { ...base, status: 'skipped', evidence: '' };
    const ownRuns = new Set(own.flatMap((scenario) => scenario.evidence.clientRuns.map((run) => run.runId)));
    // Findings from the rule's own runs first: the situation written to provoke it.
    const seen = findings.filter((finding) => finding.rule === rule.id).sort((a, b) => Number(!ownRuns.has(a.run)) - Number(!ownRuns.has(b.run)));
    const failedScenario = own.find((scenario) => scenario.status === 'failed');
    if (seen.length > 0 || failedScenario) {
      const [first] = seen;
      return {
        ...base,
        status: 'failed',
        evidence: first ? findingText(first, clientRuns) : (failedScenario?.message ?? ''),
        ...(seen.length > 0 ? { findings: seen } : {}),
      };
    }
    if (own.some((scenario) => scenario.status === 'passed')) return { ...base, status: 'passed', evidence: '' };
    const stopped = blocked.filter((entry) => entry.rule === rule.id && entry.blockedBy.length > 0);
    if (stopped.length > 0) {
      const blockedBy = [...new Set(stopped.flatMap((entry) => entry.blockedBy))].sort();
      const [first] = stopped;
      return { ...base, status: 'blocked', evidence: first ? `${first.reason} [${describeRun(first.run, clientRuns)}]` : '', blockedBy };
    }
    return { ...base, status: 'skipped', evidence: '' };
  });
}

export function verdictOf(rules: readonly RuleResult[]): Verdict {
  if (rules.some((rule) => rule.level === 'MUST' && rule.status === 'failed')) return 'non-conformant';
  if (rules.some((rule) => rule.status === 'failed')) return 'conformant-with-warnings';
  return 'conformant';
}

/** Rules listed as known deviations that passed after all: the list is stale. */
export function staleExpectations(rules: readonly RuleResult[]): string[] {
  return rules.filter((rule) => rule.expectedToFail && rule.status === 'passed').map((rule) => rule.id);
}

/**
 * 0: nothing that gates failed; 1: a MUST rule failed (or, strict, a SHOULD rule) that was not listed as
 * a known deviation, or a listed rule passed.
 */
export function exitCodeFor(rules: readonly RuleResult[], strict: boolean): 0 | 1 {
  if (staleExpectations(rules).length > 0) return 1;
  return rules.some((rule) => rule.status === 'failed' && !rule.expectedToFail && (rule.level === 'MUST' || strict)) ? 1 : 0;
}

export interface RuleCounts {
  passed: number;
  failed: number;
  skipped: number;
  blocked: number;
}

export function countRules(rules: readonly RuleResult[]): RuleCounts {
  const count = (status: RuleStatus) => rules.filter((rule) => rule.status === status).length;
  return { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), blocked: count('blocked') };
}
