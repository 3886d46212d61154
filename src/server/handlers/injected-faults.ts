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

/** How long an intercepted connection's request body is read to its end before the reset. */
const DRAIN_BEFORE_RESET_MS = 5_000;

/**
 * The connection closes with no answer. Direct, the kernel resets it when body bytes are left unread (a drop
 * mid-body), and the client meets the reset while writing or while reading, which plain sockets report alike.
 * A connection handed over by --intercept is TLS: it is reset at the client's end (TCP RST, no close_notify),
 * which the kit's own TLS close would otherwise hide, once the rest of the request's body is read, so that
 * the client meets the reset while reading its answer. Met while writing, Python's TLS (3.11) reports it as
 * SSLEOFError where a plain socket reports a reset, and where the reset lands in the body is the timing of
 * socket buffers: the verdict would change from run to run.
 */
export async function dropConnection(ctx: RequestContext): Promise<void> {
  ctx.exchange.dropped = true;
  const reset = ctx.state.connectionResets.get(ctx.req.socket);
  if (reset && !ctx.req.complete) {
    ctx.req.resume();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_BEFORE_RESET_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      ctx.req.once('end', done);
      ctx.req.once('close', done);
      ctx.req.once('error', done);
    });
  }
  reset?.();
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
