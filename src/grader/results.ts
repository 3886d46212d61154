import { RULE_TAG, type Rule, type RuleLevel, type RuleSide } from '../protocol/rules.ts';

/** The few Cucumber message fields the grader reads (see @cucumber/messages). */
export interface CucumberEnvelope {
  pickle?: { id: string; name: string; uri: string; tags: readonly { name: string }[] };
  testCase?: { id: string; pickleId: string };
  testCaseStarted?: { id: string; testCaseId: string };
  testStepFinished?: { testCaseStartedId: string; testStepResult: { status: string; message?: string } };
  testCaseFinished?: { testCaseStartedId: string; willBeRetried?: boolean };
  attachment?: { testCaseStartedId?: string; mediaType: string; body: string; contentEncoding?: string };
}

export type Status = 'passed' | 'failed' | 'skipped';

export interface ScenarioResult {
  name: string;
  uri: string;
  tags: string[];
  /** Rule ids the scenario is tagged with. */
  rules: string[];
  status: Status;
  /** The first failing step's message. */
  message: string;
  /** What the steps attached as text or JSON (the client's output, the traffic, the evidence). */
  attachments: { mediaType: string; body: string }[];
}

/** The error's own line, without the "Error: " Cucumber's message starts with or the stack after it. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/^(Assertion)?Error: /, '');
}

const FAILING = new Set(['FAILED', 'UNDEFINED', 'AMBIGUOUS', 'PENDING', 'UNKNOWN']);

/** Folds Cucumber's message stream into one result per scenario, as scenarios finish. */
export class ScenarioCollector {
  readonly results: ScenarioResult[] = [];
  readonly #pickles = new Map<string, NonNullable<CucumberEnvelope['pickle']>>();
  readonly #testCases = new Map<string, string>();
  readonly #started = new Map<string, { pickleId: string; steps: { status: string; message?: string }[]; attachments: ScenarioResult['attachments'] }>();

  constructor(private readonly onScenario?: (result: ScenarioResult) => void) {}

  accept(envelope: CucumberEnvelope): void {
    if (envelope.pickle) this.#pickles.set(envelope.pickle.id, envelope.pickle);
    if (envelope.testCase) this.#testCases.set(envelope.testCase.id, envelope.testCase.pickleId);
    if (envelope.testCaseStarted) {
      const pickleId = this.#testCases.get(envelope.testCaseStarted.testCaseId) ?? '';
      this.#started.set(envelope.testCaseStarted.id, { pickleId, steps: [], attachments: [] });
    }
    const attachment = envelope.attachment;
    if (attachment?.testCaseStartedId && attachment.contentEncoding !== 'BASE64') {
      this.#started.get(attachment.testCaseStartedId)?.attachments.push({ mediaType: attachment.mediaType, body: attachment.body });
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
        attachments: started.attachments,
      };
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
  return collector.results;
}

export interface RuleResult {
  id: string;
  level: RuleLevel;
  side: RuleSide;
  status: Status;
  scenarios: string[];
  evidence: string;
  statement: string;
  guide: { section: string; url: string; says: string };
  /** Listed in --expect-failures: a failure reported, but not gating; a pass that makes the list stale. */
  expectedToFail?: boolean;
}

export type Verdict = 'conformant' | 'conformant-with-warnings' | 'non-conformant';

/** A rule fails if any of its scenarios failed, is skipped only if none ran (or all were skipped), passes otherwise. */
export function gradeRules(rules: readonly Rule[], scenarios: readonly ScenarioResult[]): RuleResult[] {
  return rules.map((rule) => {
    const own = scenarios.filter((scenario) => scenario.rules.includes(rule.id));
    const failed = own.find((scenario) => scenario.status === 'failed');
    const status: Status = failed ? 'failed' : own.some((scenario) => scenario.status === 'passed') ? 'passed' : 'skipped';
    return {
      id: rule.id,
      level: rule.level,
      side: rule.side,
      status,
      scenarios: own.map((scenario) => scenario.name),
      evidence: failed?.message ?? '',
      statement: rule.statement,
      guide: { ...rule.guide },
    };
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

export function countRules(rules: readonly RuleResult[]): { passed: number; failed: number; skipped: number } {
  return {
    passed: rules.filter((rule) => rule.status === 'passed').length,
    failed: rules.filter((rule) => rule.status === 'failed').length,
    skipped: rules.filter((rule) => rule.status === 'skipped').length,
  };
}
