/**
 * Every answer a server scenario saw, judged: the S- rules whose statements an answer can break,
 * wherever it was seen, not only in the scenario written for the rule. What is expected of each answer
 * was fixed when the kit sent the request (src/probe/exchange.ts), from what it sent.
 */
import { type JsonResponse, describeResponse } from '../http/transport.ts';
import type { Expectation, ProbeExchange } from '../probe/exchange.ts';
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

const STATE_RULES = { listing: 'S-LIST-PARTS', status: 'S-STATUS', file: 'S-COMMIT-OK' } as const;

function stateProblem(expect: Extract<Expectation, { kind: keyof typeof STATE_RULES }>, response: JsonResponse): string | undefined {
  if (expect.kind === 'listing') return partsPageProblem(response, expect.parts, expect.query);
  // Seen in passing, a count may lag behind the parts stored (Box processes parts as they come); it may never exceed them.
  if (expect.kind === 'status') return sessionStatusProblem(response, expect.sessionId, expect.processed, true);
  return committedFileProblem(response, expect.size, expect.sha1);
}

/** The rule an exchange's answer breaks, and how; at most one per rule per exchange. */
function problemsOf(exchange: ProbeExchange, diverged: boolean): { rule: string; problem: string }[] {
  const out: { rule: string; problem: string }[] = [];
  const { response, expect } = exchange;
  if (response && response.status >= 400) {
    const shape = errorShapeProblem(response);
    if (shape) out.push({ rule: 'S-ERROR-SHAPE', problem: shape });
  }
  // A 429 or 202 waited out is not the answer; an answer the kit gave up waiting for is not judged.
  if (exchange.waitedOut || exchange.gaveUp) return out;
  if (
    response &&
    exchange.method === 'PUT' &&
    response.status === 200 &&
    exchange.range &&
    exchange.range.hi - exchange.range.lo + 1 === exchange.body.length
  ) {
    const record = partRecordProblem(response, { offset: exchange.range.lo, size: exchange.body.length, sha1: exchange.body.sha1 });
    if (record) out.push({ rule: 'S-PART-OK', problem: record });
  }
  const noAnswer = exchange.failure === undefined ? undefined : `no answer (${exchange.failure})`;
  switch (expect.kind) {
    case 'refusal': {
      const problem = noAnswer ?? (response && (expect.status === undefined ? refusalProblem(response) : statusProblem(response, expect.status, expect.code)));
      if (problem) out.push({ rule: expect.rule, problem });
      break;
    }
    case 'session': {
      const problem = noAnswer ?? (response && (statusProblem(response, 201) ?? uploadSessionProblem(response.body, expect.fileSize)));
      if (problem) out.push({ rule: 'S-CREATE', problem });
      break;
    }
    case 'part':
      if (!diverged && (noAnswer || (response && response.status !== 200)))
        out.push({
          rule: 'S-PART-OK',
          problem: `a correct part into a free range was answered ${noAnswer ?? describeResponse(response ?? { status: 0, headers: {}, body: undefined, text: '' })}`,
        });
      break;
    case 'listing':
    case 'status':
    case 'file': {
      // Answers about a session's state: not judged once the session holds what the kit did not mean to store.
      const problem = diverged ? undefined : (noAnswer ?? (response && stateProblem(expect, response)));
      if (problem) out.push({ rule: STATE_RULES[expect.kind], problem });
      break;
    }
    case 'content': {
      // Only a 200 is the file's content: a server need not serve downloads at this address.
      const problem = diverged || response?.status !== 200 ? undefined : downloadedContentProblem(response, expect.size, expect.sha1);
      if (problem) out.push({ rule: 'S-COMMIT-OK', problem });
      break;
    }
    case 'abort': {
      const problem = diverged ? undefined : (noAnswer ?? (response && statusProblem(response, 204)));
      if (problem) out.push({ rule: 'S-ABORT', problem });
      break;
    }
    case 'any':
      break;
  }
  return out;
}

/** The findings of one server scenario, in the order the exchanges happened. */
export function judgeServerExchanges({ run, exchanges, divergedAt }: JudgedRun): Finding[] {
  const findings: Finding[] = [];
  const perRule = new Map<string, number>();
  for (const exchange of exchanges) {
    const from = exchange.session === undefined ? undefined : divergedAt[exchange.session];
    for (const { rule, problem } of problemsOf(exchange, from !== undefined && exchange.index > from)) {
      const count = (perRule.get(rule) ?? 0) + 1;
      perRule.set(rule, count);
      if (count <= MAX_FINDINGS_PER_RULE) findings.push({ rule, run, requests: [exchange.index], message: `${exchange.request}: ${problem}` });
    }
  }
  return findings;
}
