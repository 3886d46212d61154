import type { Transport } from '../http/transport.ts';
import { DEFAULT_ANSWER_BUDGET_MS, RunPatience } from './budget.ts';
import type { FileShape } from './spaces.ts';

/** A server the kit grades: where it is, how to reach it, and what it may create there. */
export interface ServerTarget {
  /** API base, e.g. https://upload.box.com/api/2.0 */
  baseUrl: string;
  /** Where `DELETE /files/{id}` and `GET /files/{id}/content` go (Box's API host for Box's upload host). */
  apiBaseUrl: string;
  token: string;
  folderId: string;
  /** Every file the kit creates is named with this prefix, so that a live run's files are recognisable. */
  namePrefix: string;
  /** Bytes of every uploaded file derive from it, so that a recorded run can be replayed. */
  seed: string;
  transport: Transport;
  /** The longest the kit waits for one answer, 429 and 202 Retry-After waits included (default 60 s). */
  answerBudgetMs?: number;
  /** How widely the probe spaces are covered: `default`, or `wide` (every case, and more generated sequences). */
  depth?: ServerDepth;
  /** The generated sequences' fast-check seed (a fixed one by default). */
  sequenceSeed?: number;
}

export type ServerDepth = 'default' | 'wide';

/** What every probe of one run shares: its patience with the server, and a counter that keeps file names unique across scenarios. */
export interface RunShared {
  patience: RunPatience;
  files: number;
  /** The part_size the server hands out for the kit's files, once learned. */
  partSize?: number;
  /** Whether the server opens sessions for files under Box's 20 MB minimum: the kit's files are then a few parts. */
  smallFiles?: boolean;
}
const RUNS = new WeakMap<ServerTarget, RunShared>();
export function runShared(target: ServerTarget): RunShared {
  let shared = RUNS.get(target);
  if (!shared) {
    shared = { patience: new RunPatience(target.answerBudgetMs ?? DEFAULT_ANSWER_BUDGET_MS), files: 0 };
    RUNS.set(target, shared);
  }
  return shared;
}

/** The smallest file Box accepts in a session is 20 MB; the kit's files are a little larger. */
export const PROBE_FILE_SIZE = 21_000_000;
export const BOX_MIN_FILE_SIZE = 20_000_000;

/**
 * A file of `shape` for `partSize`: at least 3 parts, and 21 MB unless the server takes smaller files (but
 * the single part, and the file over 20 MB whatever the server takes).
 */
export function fileSizeFor(shape: FileShape, partSize: number, smallFiles = false): number {
  const whole = Math.max(3, smallFiles ? 0 : Math.ceil(PROBE_FILE_SIZE / partSize)) * partSize;
  switch (shape) {
    case 'over 20 MB':
      return fileSizeFor('half a part over', partSize);
    case 'exact multiple':
      return whole;
    case 'one byte over':
      return whole + 1;
    case 'one byte under':
      return whole - 1;
    case 'half a part over':
      return whole + Math.ceil(partSize / 2);
    case 'a single part':
      return Math.ceil(partSize / 2);
  }
}
