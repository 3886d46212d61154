import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestContext } from '../context.ts';
import { DEFAULT_ERROR_CODES, type FaultAction, describeFault, matchFault } from '../faults.ts';
import { fail, reply } from '../replies.ts';
import type { Session } from '../store.ts';

/** The fault the session's plan sets for this request, if any; counts it as fired and notes it in the traffic record. */
export function fireFault(ctx: RequestContext, session: Session, request: { op: 'part' | 'commit'; part?: number; attempt: number }): FaultAction | undefined {
  const index = matchFault(session.plan.instructions, request);
  if (index === undefined) return undefined;
  const instruction = session.plan.instructions[index];
  if (!instruction) return undefined;
  session.plan.fired[index] = (session.plan.fired[index] ?? 0) + 1;
  ctx.exchange.fault = { description: describeFault(instruction), action: instruction.action };
  return instruction.action;
}

/** Answers a terminal fault (everything but delay and drop). */
export async function answerFault(ctx: RequestContext, action: FaultAction): Promise<void> {
  if ('afterMs' in action && action.afterMs) await sleep(action.afterMs);
  switch (action.kind) {
    case 'error':
      return fail(ctx, action.status, action.code ?? DEFAULT_ERROR_CODES[action.status] ?? 'error', `Injected fault: ${action.status}`);
    case 'rate-limit':
      return fail(ctx, 429, 'rate_limit_exceeded', 'Request rate limit exceeded, please try again later', {
        headers: { 'retry-after': String(action.retryAfter) },
      });
    case 'overlap':
      return fail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', {
        context: { conflicting_part: null },
      });
    case 'retry-later':
      return reply(ctx, 202, undefined, { 'retry-after': String(action.retryAfter) });
    default:
      return undefined;
  }
}
