/**
 * How long the kit waits for a server: every answer it needs, with the 429 and 202 Retry-After waits
 * before it, must come within one budget (`--timeout` for server runs). Running out of it is not a
 * verdict on the server but a limit of the run: the scenario is left not judged and the run ends as a
 * kit error (exit 2) that names the answer waited for.
 */

import type { ServerRuleId } from '../protocol/rules.ts';
import { Blocked, GaveUpWaiting } from '../errors.ts';

/**
 * Default wait for one server answer, Retry-After waits included: Box asks for waits of up to 30 s. It is
 * also about the most a broken server adds to a run: what hangs once is not waited for again (RunPatience).
 */
export const DEFAULT_ANSWER_BUDGET_MS = 60_000;

/**
 * Once any answer hung, every other answer of the run is waited for this long at most: a server that
 * hangs on one endpoint often hangs on others, and a run must end in bounded time whatever it does.
 */
export const AFTER_HANG_BUDGET_MS = 10_000;

/** The endpoints the kit calls, each answered by the server in its own way. */
export type RequestKind = 'create' | 'part' | 'list' | 'status' | 'commit' | 'abort' | 'file';

/** The rule whose statement an endpoint's answers keep when nothing more particular is expected of them. */
export const ANSWER_RULE: Readonly<Record<RequestKind, ServerRuleId>> = {
  create: 'S-CREATE',
  part: 'S-PART-OK',
  list: 'S-LIST-PARTS',
  status: 'S-STATUS',
  commit: 'S-COMMIT-OK',
  abort: 'S-ABORT',
  file: 'S-COMMIT-OK',
};

/**
 * How long the whole run still waits on a server: an endpoint whose answer hung (no answer within the
 * budget, or 202s that never ended) is not called again, its later calls blocked by the rule that hang
 * broke; after any hang, other answers get AFTER_HANG_BUDGET_MS at most. One per run, shared by every scenario.
 */
export class RunPatience {
  readonly #hung = new Map<RequestKind, { rule: ServerRuleId; reason: string }>();

  constructor(readonly budgetMs: number) {}

  /** The budget for the next answer. */
  budget(): number {
    return this.#hung.size > 0 ? Math.min(this.budgetMs, AFTER_HANG_BUDGET_MS) : this.budgetMs;
  }

  /** Throws Blocked when `kind`'s answers hung before. */
  assertAnswering(kind: RequestKind): void {
    const hung = this.#hung.get(kind);
    if (hung) throw new Blocked([hung.rule], `not asked again: ${hung.reason}`);
  }

  hung(kind: RequestKind, rule: ServerRuleId, reason: string): void {
    if (!this.#hung.has(kind)) this.#hung.set(kind, { rule, reason });
  }
}

/** One answer's budget: started when its first attempt was sent. */
export class AnswerDeadline {
  readonly #startedAt = performance.now();
  constructor(
    readonly budgetMs: number,
    readonly waitedFor: string,
  ) {}

  remainingMs(): number {
    return this.budgetMs - (performance.now() - this.#startedAt);
  }

  /** Throws GaveUpWaiting unless waiting `ms` more (and then asking again) fits the budget. */
  assertCanWait(ms: number, why: string): void {
    if (ms >= this.remainingMs()) throw new GaveUpWaiting(this.waitedFor, this.budgetMs, why);
  }

  /** `pending`, or GaveUpWaiting once the budget is spent; the timer never keeps the process alive. */
  async within<T>(pending: Promise<T>): Promise<T> {
    const remaining = this.remainingMs();
    if (remaining <= 0) throw new GaveUpWaiting(this.waitedFor, this.budgetMs, 'no time was left to ask');
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new GaveUpWaiting(this.waitedFor, this.budgetMs, 'no answer came')), remaining);
      timer.unref();
    });
    try {
      return await Promise.race([pending, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
