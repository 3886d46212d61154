/** The run model: what the kit knows after one client run, and what judging it on one rule gives. */
import type { FaultReportEntry } from '../../server/faults.ts';
import type { Exchange } from '../../server/recorder.ts';
import type { ClientRuleId } from '../../protocol/rules.ts';
import type { Finding } from '../findings.ts';

/** Everything the kit knows after one run of a client against the simulated server. */
export interface ClientRun {
  fileSize: number;
  /** Hex SHA-1 of the source file. */
  fileSha1: string;
  fileName: string;
  folderId: string;
  partSize: number;
  traffic: Exchange[];
  faults: FaultReportEntry[];
  exit: { code: number | null; timedOut: boolean };
  /** The file the server stored for a 201 commit, as the server hashed it. */
  stored?: { size: number; sha1: string };
  /** Hex SHA-1 of the source file's bytes at each range a part body was sent for, by `lo-hi` (src/kit/range-digests.ts). */
  rangeSha1?: Readonly<Record<string, string>>;
}

/** The key of a byte range in ClientRun.rangeSha1. */
export const rangeKey = (lo: number, hi: number) => `${lo}-${hi}`;

/** One rule's verdict on one run. */
export type RunVerdict =
  | { status: 'passed' }
  | { status: 'failed'; findings: Finding[] }
  | { status: 'not-applicable'; reason: string }
  | { status: 'blocked'; blockedBy: string[]; reason: string };

export interface RunJudgement {
  runId: string;
  verdicts: Record<ClientRuleId, RunVerdict>;
  /** Planned faults that never fired: the run did not put the client in the situation it describes. */
  unfired: string[];
}
