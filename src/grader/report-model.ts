/** What every report formats: the graded run. Reports import this; nothing here imports a report. */
import type { RuleCounts, RuleResult, Verdict } from './results.ts';

export interface ConformanceReport {
  kit: { name: string; version: string };
  target: { kind: 'client' | 'server' | 'client+server'; name: string };
  verdict: Verdict;
  summary: RuleCounts;
  rules: RuleResult[];
  generatedAt: string;
  durationMs: number;
}

/** The status, with what --expect-failures makes of it, and the rules a blocked one waits on. */
export function statusText(rule: RuleResult): string {
  if (rule.status === 'blocked') return `blocked by ${(rule.blockedBy ?? []).join(', ')}`;
  if (!rule.expectedToFail) return rule.status;
  return rule.status === 'failed' ? 'failed (known deviation)' : rule.status === 'passed' ? 'passed, but listed as a known deviation' : rule.status;
}
