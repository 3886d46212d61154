/**
 * Fault plans: instructions keyed by operation, part number and attempt that the simulated server
 * follows instead of (or before) answering normally. Pure: matching and validation only.
 */
export type FaultAction =
  /** Answer normally, but only after `ms` milliseconds. */
  | { kind: 'delay'; ms: number }
  /**
   * Answer with `status` and Box's error JSON (default code from the status). The part is not stored,
   * unless `persist` (parts only): then the part is stored as if accepted, and only its answer fails,
   * as Box has done (box-java-sdk PR #781).
   */
  | { kind: 'error'; status: number; code?: string; afterMs?: number; persist?: boolean }
  /** 429 rate_limit_exceeded with a Retry-After of `retryAfter` seconds, the header named `headerName` (default `retry-after`, as Box sends it). */
  | { kind: 'rate-limit'; retryAfter: number; afterMs?: number; headerName?: string }
  /** 416 range_overlaps_existing_part; the part is not stored. */
  | { kind: 'overlap'; afterMs?: number }
  /**
   * Close the connection with no answer: after receiving `afterBytes` of the body (default: half of it);
   * with `persist` (parts only), after receiving the whole body and storing the part.
   */
  | { kind: 'drop'; afterBytes?: number; persist?: boolean }
  /** Commit only: 202 with a Retry-After of `retryAfter` seconds (header named as for rate-limit) and no body. */
  | { kind: 'retry-later'; retryAfter: number; headerName?: string }
  /** Commit only: 400 parts_mismatch, as Box has answered a commit sent right after the last part (rclone#97). */
  | { kind: 'parts-mismatch'; afterMs?: number };

/** `create` is the session create (a new file or a new version); its attempts are counted from the moment the plan was set. */
export type FaultOperation = 'create' | 'part' | 'commit';

export interface FaultInstruction {
  op: FaultOperation;
  /** 1-based part number (part 1 starts at offset 0); absent: every part. Only for `op: 'part'`. */
  part?: number;
  /** 1-based attempt of that part, or of the commit, within one session, or of the create; absent: every attempt. */
  attempt?: number;
  action: FaultAction;
}

/** A fault that lets the part be stored and fails only its answer (`persist`). */
export const persists = (action: FaultAction): boolean => (action.kind === 'error' || action.kind === 'drop') && action.persist === true;

/** Box sends Retry-After in lowercase; a fault may name it otherwise to see how a client copes. */
export const RETRY_AFTER_HEADER = 'retry-after';

export interface FaultPlan {
  instructions: FaultInstruction[];
}

export interface FaultReportEntry {
  instruction: FaultInstruction;
  fired: number;
}

export const DEFAULT_ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'upload_failed',
  412: 'precondition_failed',
  500: 'internal_server_error',
  502: 'bad_gateway',
  503: 'unavailable',
  504: 'gateway_timeout',
};

export function describeFault(instruction: FaultInstruction): string {
  const target = instruction.op !== 'part' ? instruction.op : instruction.part === undefined ? 'every part' : `part ${instruction.part}`;
  const attempt = instruction.attempt === undefined ? 'every attempt' : `attempt ${instruction.attempt}`;
  const action = instruction.action;
  const what = (() => {
    switch (action.kind) {
      case 'delay':
        return `answer after ${action.ms} ms`;
      case 'error':
        return `${action.persist ? 'store the part, then ' : ''}answer ${action.status}${action.code ? ` ${action.code}` : ''}`;
      case 'rate-limit':
        return `answer 429 with ${action.headerName ?? RETRY_AFTER_HEADER} ${action.retryAfter}`;
      case 'overlap':
        return 'answer 416 range_overlaps_existing_part';
      case 'drop':
        return action.persist ? 'store the part, then drop the connection without an answer' : 'drop the connection mid-body';
      case 'retry-later':
        return `answer 202 with ${action.headerName ?? RETRY_AFTER_HEADER} ${action.retryAfter}`;
      case 'parts-mismatch':
        return 'answer 400 parts_mismatch';
    }
  })();
  return `${target}, ${attempt}: ${what}`;
}

function specificity(instruction: FaultInstruction): number {
  return (instruction.part === undefined ? 0 : 2) + (instruction.attempt === undefined ? 0 : 1);
}

/** The instruction that governs one request: the most specific match, the earliest on a tie. */
export function matchFault(instructions: readonly FaultInstruction[], request: { op: FaultOperation; part?: number; attempt: number }): number | undefined {
  let best: number | undefined;
  instructions.forEach((instruction, index) => {
    if (instruction.op !== request.op) return;
    if (instruction.part !== undefined && instruction.part !== request.part) return;
    if (instruction.attempt !== undefined && instruction.attempt !== request.attempt) return;
    const current = best === undefined ? undefined : instructions[best];
    if (current === undefined || specificity(instruction) > specificity(current)) best = index;
  });
  return best;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isPositive = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

function persistProblem(op: FaultOperation, action: Record<string, unknown>): string | undefined {
  if (action.persist === undefined) return undefined;
  if (typeof action.persist !== 'boolean') return 'persist must be true or false';
  return action.persist && op !== 'part' ? 'persist applies to parts only' : undefined;
}

function retryAfterProblem(action: Record<string, unknown>): string | undefined {
  if (!isCount(action.retryAfter)) return `${String(action.kind)} needs retryAfter, whole seconds`;
  if (action.headerName !== undefined && (typeof action.headerName !== 'string' || action.headerName.toLowerCase() !== RETRY_AFTER_HEADER)) {
    return 'headerName must be "retry-after" in some letter case, e.g. "Retry-After"';
  }
  return undefined;
}

function actionProblem(op: FaultOperation, action: Record<string, unknown>): string | undefined {
  if (action.afterMs !== undefined && !isCount(action.afterMs)) return 'afterMs must be a non-negative integer';
  switch (action.kind) {
    case 'delay':
      return isCount(action.ms) ? undefined : 'delay needs ms, a non-negative integer';
    case 'error':
      if (!Number.isSafeInteger(action.status) || (action.status as number) < 400 || (action.status as number) > 599) {
        return 'error needs status, 400 to 599';
      }
      if (action.code !== undefined && typeof action.code !== 'string') return 'code must be a string';
      return persistProblem(op, action);
    case 'rate-limit':
      return retryAfterProblem(action);
    case 'overlap':
      return op === 'part' ? undefined : 'overlap applies to parts only';
    case 'drop':
      if (action.afterBytes !== undefined && !isCount(action.afterBytes)) return 'afterBytes must be a non-negative integer';
      if (action.afterBytes !== undefined && action.persist === true) return 'a drop that persists the part reads the whole body: leave out afterBytes';
      return persistProblem(op, action);
    case 'retry-later':
      if (op !== 'commit') return 'retry-later applies to the commit only';
      return retryAfterProblem(action);
    case 'parts-mismatch':
      return op === 'commit' ? undefined : 'parts-mismatch applies to the commit only';
    default:
      return `unknown action kind ${JSON.stringify(action.kind)}`;
  }
}

/** Validates a plan that arrived as JSON (the control API). */
export function parseFaultPlan(value: unknown): { ok: true; plan: FaultPlan } | { ok: false; reason: string } {
  const list = (value as { instructions?: unknown } | null)?.instructions;
  if (!Array.isArray(list)) return { ok: false, reason: 'a fault plan is {"instructions": [...]}' };
  for (const [index, raw] of list.entries()) {
    const at = `instructions[${index}]`;
    if (typeof raw !== 'object' || raw === null) return { ok: false, reason: `${at} must be an object` };
    const instruction = raw as Record<string, unknown>;
    if (instruction.op !== 'create' && instruction.op !== 'part' && instruction.op !== 'commit') {
      return { ok: false, reason: `${at}.op must be "create", "part" or "commit"` };
    }
    if (instruction.part !== undefined && (!isPositive(instruction.part) || instruction.op !== 'part')) {
      return { ok: false, reason: `${at}.part must be a part number from 1, on a part instruction` };
    }
    if (instruction.attempt !== undefined && !isPositive(instruction.attempt)) return { ok: false, reason: `${at}.attempt must be 1 or more` };
    if (typeof instruction.action !== 'object' || instruction.action === null) return { ok: false, reason: `${at}.action must be an object` };
    const problem = actionProblem(instruction.op, instruction.action as Record<string, unknown>);
    if (problem) return { ok: false, reason: `${at}.action: ${problem}` };
  }
  return { ok: true, plan: { instructions: list as FaultInstruction[] } };
}
