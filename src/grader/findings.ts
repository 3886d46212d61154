/**
 * Judgements as data: what the grader hands every report. A finding is one observation that breaks a
 * rule; a blocked entry says a rule could not be observed in a run because another rule's failure
 * stopped it. Steps attach both to their scenario (FINDINGS_MEDIA_TYPE) so that a violation seen in any
 * run fails the rule it breaks, not only in the scenarios tagged with it.
 */

/** One observation that breaks `rule`. */
export interface Finding {
  /** The rule id, e.g. "C-DIGEST". */
  readonly rule: string;
  /** Where it was seen: a client run id, or the server scenario's slug. */
  readonly run: string;
  /** The exchanges that show it: recorder sequence numbers (client runs) or probe exchange indexes (server). */
  readonly requests: readonly number[];
  readonly message: string;
}

/** `rule` could not be observed in `run` because the failures of `blockedBy` stopped it. */
export interface BlockedRule {
  readonly rule: string;
  readonly run: string;
  readonly blockedBy: readonly string[];
  readonly reason: string;
}

export const FINDINGS_MEDIA_TYPE = 'application/vnd.box-conformance.findings+json';

export interface FindingsAttachment {
  readonly findings: readonly Finding[];
  readonly blocked: readonly BlockedRule[];
}
