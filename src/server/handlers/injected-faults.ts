import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestContext } from '../context.ts';
import { DEFAULT_ERROR_CODES, type FaultAction, type FaultOperation, RETRY_AFTER_HEADER, describeFault, matchFault } from '../faults.ts';

import { fail, reply } from '../replies.ts';
import type { ActivePlan } from '../store.ts';

export interface FaultRequest {
  op: FaultOperation;
  part?: number;
  attempt: number;
}

/** The instruction of `plan` that governs this request, without firing it. */
export function plannedFault(plan: ActivePlan, request: FaultRequest): { index: number; action: FaultAction } | undefined {
  const index = matchFault(plan.instructions, request);
  const instruction = index === undefined ? undefined : plan.instructions[index];
  return index === undefined || !instruction ? undefined : { index, action: instruction.action };
}

/** Counts a planned fault as fired and notes it in the traffic record. */
export function fire(ctx: RequestContext, plan: ActivePlan, planned: { index: number; action: FaultAction }): FaultAction {
  plan.fired[planned.index] = (plan.fired[planned.index] ?? 0) + 1;
  const instruction = plan.instructions[planned.index];
  ctx.exchange.fault = { description: instruction ? describeFault(instruction) : planned.action.kind, action: planned.action };
  return planned.action;
}

/** The fault the plan sets for this request, if any, fired at once. */
export function fireFault(ctx: RequestContext, plan: ActivePlan, request: FaultRequest): FaultAction | undefined {
  const planned = plannedFault(plan, request);
  return planned && fire(ctx, plan, planned);
}

/**
 * The connection closes with no answer. Direct, the kernel resets it when body bytes are left unread (a drop
 * mid-body); a connection handed over by the --intercept proxy is reset at the client's end (TCP RST, no TLS
 * close_notify), which the proxy's own TLS close would otherwise hide.
 */
export function dropConnection(ctx: RequestContext): void {
  ctx.exchange.dropped = true;
  ctx.state.connectionResets.get(ctx.req.socket)?.();
  ctx.req.socket.destroy();
}

/**
 * Answers a terminal fault (everything but delay and drop). `unmatchedPart` is the commit's part that a
 * parts_mismatch answer names, as Box's does.
 */
export async function answerFault(ctx: RequestContext, action: FaultAction, unmatchedPart?: unknown): Promise<void> {
  if ('afterMs' in action && action.afterMs) await sleep(action.afterMs);
  switch (action.kind) {
    case 'error':
      return fail(ctx, action.status, action.code ?? DEFAULT_ERROR_CODES[action.status] ?? 'error', `Injected fault: ${action.status}`);
    case 'rate-limit':
      return fail(ctx, 429, 'rate_limit_exceeded', 'Request rate limit exceeded, please try again later', {
        headers: { [action.headerName ?? RETRY_AFTER_HEADER]: String(action.retryAfter) },
      });
    case 'overlap':
      return fail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', {
        context: { conflicting_part: null },
      });
    case 'retry-later':
      return reply(ctx, 202, undefined, { [action.headerName ?? RETRY_AFTER_HEADER]: String(action.retryAfter) });
    case 'parts-mismatch':
      return fail(ctx, 400, 'parts_mismatch', `No matching part found on server for ${JSON.stringify(unmatchedPart ?? null)}`);
    default:
      return undefined;
  }
}
