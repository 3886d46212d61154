// What every answer of the simulated server is owed, whatever the request: an answer within the
// deadline, Box's error JSON on every error, and no 5xx but injected faults and the ones a section causes.
import { type Step, isInjected } from './api.ts';
import { type Counter, type Invariants, describeResult } from './figures.ts';
import { type WireResult, isBoxError } from './wire.ts';

export const ANSWER_INVARIANTS = {
  fiveHundreds: 'answers 5xx other than injected faults',
  late: 'requests without an answer within 10 s',
  closed: 'connections closed without an answer where one was owed',
  notBoxJson: "error answers that are not Box's error JSON",
} as const;

export interface Judgement {
  /** 5xx is allowed for this request (a storage fault the section caused); an injected fault's always is. */
  allow5xx?: boolean;
  /** The server may close the connection without answering. */
  mayClose?: boolean;
  /** Samples are kept one per kind and outcome (default: one per request). */
  sampleKind?: string;
}

/** Checks one result against the answer invariants and counts its status. */
export function judgeAnswer(invariants: Invariants, statuses: Counter, request: string, result: WireResult, judgement: Judgement = {}): void {
  const sample = () => ({ request, answer: describeResult(result) });
  const kind = judgement.sampleKind === undefined ? undefined : `${judgement.sampleKind}:${result.kind === 'answer' ? result.answer.status : result.kind}`;
  switch (result.kind) {
    case 'answer': {
      const { status } = result.answer;
      statuses.add(status);
      invariants.check(ANSWER_INVARIANTS.fiveHundreds, status < 500 || judgement.allow5xx === true || isInjected(result.answer), sample, kind);
      invariants.check(ANSWER_INVARIANTS.notBoxJson, status < 400 || request.startsWith('HEAD ') || isBoxError(result.answer), sample, kind);
      return;
    }
    case 'timeout':
      statuses.add('no answer');
      invariants.violate(ANSWER_INVARIANTS.late, sample(), kind);
      return;
    case 'closed':
    case 'refused':
      statuses.add(result.kind);
      invariants.check(ANSWER_INVARIANTS.closed, judgement.mayClose === true, sample, kind);
  }
}

export const judgeStep =
  (invariants: Invariants, statuses: Counter, judgement: Judgement = {}) =>
  (step: Step) =>
    judgeAnswer(invariants, statuses, step.request, step.result, judgement);
