/**
 * Every answer a server scenario saw, judged: the S- rules whose statements an answer can break,
 * wherever it was seen, not only in the scenario written for the rule. What is expected of each answer
 * was fixed when the kit sent the request (src/probe/exchange.ts), from what it sent.
 */
import { type JsonResponse, describeResponse } from '../http/transport.ts';
import type { Expectation, ProbeExchange } from '../probe/exchange.ts';
import { SERVER_RULE_IDS, type ServerRuleId } from '../protocol/rules.ts';
import { uploadSessionProblem } from '../protocol/shapes.ts';
import type { Finding } from './findings.ts';
import {
  committedFileProblem,
  downloadedContentProblem,
  errorShapeProblem,
  partRecordProblem,
  partsPageProblem,
  refusalProblem,
  sessionStatusProblem,
  statusProblem,
} from './server-checks.ts';

/** Findings kept per rule and scenario: enough to show a pattern, few enough to read. */
const MAX_FINDINGS_PER_RULE = 10;

export interface JudgedRun {
  /** The scenario, as findings name it. */
  run: string;
  exchanges: readonly ProbeExchange[];
  /** Per session, the exchange from which it may hold what the kit did not mean to store: later stateful answers are not judged. */
  divergedAt: Readonly<Record<string, number>>;
}

/** What one answer is judged in: whether its session may hold what the kit did not mean to store. */
interface AnswerContext {
  readonly diverged: boolean;
}

type AnswerCheck = (exchange: ProbeExchange, context: AnswerContext) => string | undefined;

/** Why an exchange has no answer to judge: the connection failed, or no answer came within the budget. */
const noAnswerOf = (exchange: ProbeExchange): string | undefined => (exchange.failure === undefined ? undefined : `no answer (${exchange.failure})`);

/** A check of the answers the kit expected of one kind, with what it expected. */
function expecting<K extends Expectation['kind']>(
  kind: K,
  judge: (expect: Extract<Expectation, { kind: K }>, response: JsonResponse, context: AnswerContext) => string | undefined,
  options: { stateful?: boolean } = {},
): AnswerCheck {
  return (exchange, context) => {
    const { expect, response } = exchange;
    if (expect.kind !== kind) return undefined;
    // Answers about a session's state are not judged once it holds what the kit did not mean to store.
    if (options.stateful && context.diverged) return undefined;
    const typed = expect as Extract<Expectation, { kind: K }>;
    return noAnswerOf(exchange) ?? (response && judge(typed, response, context));
  };
}

/** A check of the refusals `rule` states: the status it names, or any 4xx. */
const refusing =
  (rule: ServerRuleId): AnswerCheck =>
  (exchange) => {
    const { expect, response } = exchange;
    if (expect.kind !== 'refusal' || expect.rule !== rule) return undefined;
    return noAnswerOf(exchange) ?? (response && (expect.status === undefined ? refusalProblem(response) : statusProblem(response, expect.status, expect.code)));
  };

const isWholePartAnswer = (exchange: ProbeExchange): boolean =>
  exchange.method === 'PUT' &&
  exchange.response?.status === 200 &&
  exchange.range !== undefined &&
  exchange.range.hi - exchange.range.lo + 1 === exchange.body.length;

/**
 * Every server rule's judgement of one answer, keyed by rule: a rule without a check does not compile.
 * Each returns the problem with the answer, or undefined.
 */
const ANSWER_CHECKS: Record<ServerRuleId, AnswerCheck> = {
  'S-CREATE': expecting('session', (expect, response) => {
    if (expect.mayRefuse && response.status >= 400 && response.status < 500) return undefined;
    return statusProblem(response, 201) ?? uploadSessionProblem(response.body, expect.fileSize);
  }),
  'S-CREATE-REJECT': refusing('S-CREATE-REJECT'),
  'S-PART-OK': (exchange, context) => {
    const { response } = exchange;
    // Any 200 to a part whose body fills its range is judged against the bytes sent, whatever was expected.
    if (response && exchange.range && isWholePartAnswer(exchange))
      return partRecordProblem(response, { offset: exchange.range.lo, size: exchange.body.length, sha1: exchange.body.sha1 });
    if (exchange.expect.kind !== 'part' || context.diverged) return undefined;
    const noAnswer = noAnswerOf(exchange);
    if (noAnswer) return `a correct part into a free range was answered ${noAnswer}`;
    return response && response.status !== 200 ? `a correct part into a free range was answered ${describeResponse(response)}` : undefined;
  },
  'S-PART-SIZE-REJECT': refusing('S-PART-SIZE-REJECT'),
  'S-RANGE-ALIGN-REJECT': refusing('S-RANGE-ALIGN-REJECT'),
  'S-RANGE-MALFORMED-REJECT': refusing('S-RANGE-MALFORMED-REJECT'),
  'S-DIGEST-REJECT': refusing('S-DIGEST-REJECT'),
  'S-OVERLAP-REJECT': refusing('S-OVERLAP-REJECT'),
  'S-LIST-PARTS': expecting('listing', (expect, response) => partsPageProblem(response, expect.parts, expect.query), { stateful: true }),
  // Seen in passing, a count may lag behind the parts stored (Box processes parts as they come); it may never exceed them.
  'S-STATUS': expecting('status', (expect, response) => sessionStatusProblem(response, expect.sessionId, expect.processed, true), { stateful: true }),
  'S-COMMIT-OK': (exchange, context) =>
    expecting('file', (expect, response) => committedFileProblem(response, expect.size, expect.sha1), { stateful: true })(exchange, context) ??
    // Only a 200 is the file's content: a server need not serve downloads at this address.
    (exchange.expect.kind === 'content' && !context.diverged && exchange.response?.status === 200
      ? downloadedContentProblem(exchange.response, exchange.expect.size, exchange.expect.sha1)
      : undefined),
  'S-COMMIT-DIGEST-REJECT': refusing('S-COMMIT-DIGEST-REJECT'),
  'S-COMMIT-INCOMPLETE-REJECT': refusing('S-COMMIT-INCOMPLETE-REJECT'),
  'S-ABORT': (exchange, context) =>
    refusing('S-ABORT')(exchange, context) ?? expecting('abort', (_expect, response) => statusProblem(response, 204), { stateful: true })(exchange, context),
  'S-AUTH': refusing('S-AUTH'),
  'S-ERROR-SHAPE': ({ response }) => (response && response.status >= 400 ? errorShapeProblem(response) : undefined),
};

/** The rules an exchange's answer breaks, and how; at most one per rule per exchange. */
function problemsOf(exchange: ProbeExchange, context: AnswerContext): { rule: ServerRuleId; problem: string }[] {
  if (exchange.hung) return [{ rule: exchange.hung.rule, problem: exchange.hung.reason }];
  // A 429 or 202 waited out is not the answer (only its error shape is judged); an answer the kit gave up waiting for is not judged.
  const rules = exchange.waitedOut || exchange.gaveUp ? (['S-ERROR-SHAPE'] as const) : SERVER_RULE_IDS;
  return rules.flatMap((rule) => {
    const problem = ANSWER_CHECKS[rule](exchange, context);
    return problem === undefined ? [] : [{ rule, problem }];
  });
}

/** The findings of one server scenario, in the order the exchanges happened. */
export function judgeServerExchanges({ run, exchanges, divergedAt }: JudgedRun): Finding[] {
  const findings: Finding[] = [];
  const perRule = new Map<string, number>();
  for (const exchange of exchanges) {
    const from = exchange.session === undefined ? undefined : divergedAt[exchange.session];
    for (const { rule, problem } of problemsOf(exchange, { diverged: from !== undefined && exchange.index > from })) {
      const count = (perRule.get(rule) ?? 0) + 1;
      perRule.set(rule, count);
      const where = exchange.label === undefined ? exchange.request : `${exchange.request} [${exchange.label}]`;
      if (count <= MAX_FINDINGS_PER_RULE) findings.push({ rule, run, requests: [exchange.index], message: `${where}: ${problem}` });
    }
  }
  return findings;
}
