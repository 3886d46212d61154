/** What a check makes of one run before its verdict is settled: drafts of findings, or why the rule was not shown. */
import type { Exchange } from '../../server/recorder.ts';

/** One observation before it is tied to a rule and a run. */
export interface Draft {
  /** The exchanges that show it. */
  requests: number[];
  message: string;
  /** The request whose content breaks the rule: if the server refused it, this finding explains a stop. */
  about?: number;
  /** The finding is itself why the run went no further (no session asked for, killed at the timeout). */
  stops?: boolean;
}

/** What a check makes of one run. */
export type Observation =
  | { kind: 'observed'; drafts: Draft[] }
  /** The situation the rule is about never arose in this run (no part failed, no 202, …). */
  | { kind: 'not-applicable'; reason: string }
  /**
   * What the rule needs never happened because the client stopped. Who is to blame is settled once every
   * rule has been judged (resolve): the rules whose findings the server refused, else an injected fault
   * (when it excuses), else the rule itself.
   */
  | { kind: 'unobserved'; what: string; excusedByInjectedFaults: boolean };

export const observed = (drafts: Draft[]): Observation => ({ kind: 'observed', drafts });
export const notApplicable = (reason: string): Observation => ({ kind: 'not-applicable', reason: `not judged: ${reason}` });
export const unobserved = (what: string, excusedByInjectedFaults = true): Observation => ({ kind: 'unobserved', what, excusedByInjectedFaults });
/** A finding shown by `exchanges`; a single exchange is also the one whose content breaks the rule, unless `about` says otherwise. */
export function at(exchanges: Exchange | readonly Exchange[], message: string, about?: Exchange | null): Draft {
  const list: readonly Exchange[] = Array.isArray(exchanges) ? exchanges : [exchanges as Exchange];
  const subject = about === undefined ? (list.length === 1 ? list[0] : undefined) : (about ?? undefined);
  return { requests: [...new Set(list.map((exchange) => exchange.seq))].sort((a, b) => a - b), message, ...(subject ? { about: subject.seq } : {}) };
}
