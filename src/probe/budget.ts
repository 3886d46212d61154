/**
 * How long the kit waits for a server: every answer it needs, with the 429 and 202 Retry-After waits
 * before it, must come within one budget (`--timeout` for server runs). Running out of it is not a
 * verdict on the server but a limit of the run: the scenario is left not judged and the run ends as a
 * kit error (exit 2) that names the answer waited for.
 */

/** Default wait for one server answer, Retry-After waits included: Box asks for waits of up to a minute. */
export const DEFAULT_ANSWER_BUDGET_MS = 120_000;

/** What a scenario attaches when it gave up waiting: the run is then a kit error (exit 2), the scenario not judged. */
export const KIT_ERROR_MEDIA_TYPE = 'application/vnd.box-conformance.kit-error+text';

/** The kit stopped waiting for an answer: neither a pass nor a failure of any rule. */
export class GaveUpWaiting extends Error {
  override readonly name = 'GaveUpWaiting';
  constructor(
    /** What was waited for, e.g. "the answer to POST …/commit". */
    readonly waitedFor: string,
    readonly budgetMs: number,
    /** Why waiting longer would not fit, e.g. "the server answered 202 and asked to commit again after 90 s". */
    readonly why: string,
  ) {
    super(`gave up waiting for ${waitedFor} after ${seconds(budgetMs)} s (${why}); raise --timeout to wait longer`);
  }
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

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
