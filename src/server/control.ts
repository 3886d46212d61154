import type { RouteHandler } from './context.ts';
import { parseFaultPlan } from './faults.ts';
import { MAX_JSON_BYTES, fail, readJsonBody, reply, replyWithList } from './replies.ts';
import { faultReport, setFaultPlan } from './state.ts';

/**
 * The control API under /_control: not Box's, the simulator's own (fault plans, the traffic record,
 * committed files). No token needed.
 */

/** GET /_control/faults */
export const getFaults: RouteHandler = (ctx) => reply(ctx, 200, { instructions: faultReport(ctx.state) });

/** PUT /_control/faults: every session created from now on follows the plan. */
export const putFaults: RouteHandler = async (ctx) => {
  const body = await readJsonBody(ctx, MAX_JSON_BYTES);
  if (!body) return;
  const parsed = parseFaultPlan(body.value);
  if (!parsed.ok) return fail(ctx, 400, 'bad_request', parsed.reason);
  setFaultPlan(ctx.state, parsed.plan);
  reply(ctx, 200, { instructions: faultReport(ctx.state) });
};

/** DELETE /_control/faults */
export const deleteFaults: RouteHandler = (ctx) => {
  setFaultPlan(ctx.state, { instructions: [] });
  reply(ctx, 204);
};

/**
 * GET /_control/traffic: the API's exchanges, control requests left out; `evicted`: how many the budget
 * made it forget. Each exchange as it was sent and answered: what the record parsed out of it for the
 * grader (`range`, `answer`) says nothing the exchange does not.
 */
export const getTraffic: RouteHandler = (ctx) => {
  const { recorder } = ctx.state;
  return replyWithList(
    ctx,
    'exchanges',
    recorder
      .exchanges()
      .filter((exchange) => exchange.op !== 'control')
      .map(({ range: _range, answer: _answer, ...exchange }) => exchange),
    { evicted: recorder.evicted },
  );
};

/** DELETE /_control/traffic */
export const deleteTraffic: RouteHandler = (ctx) => {
  ctx.state.recorder.clear();
  reply(ctx, 204);
};

/** GET /_control/files/{id}: a committed file's entry. */
export const controlFile: RouteHandler = (ctx, [id = '']) => {
  const file = ctx.state.store.files.get(id);
  if (file) return reply(ctx, 200, file.entry);
  fail(ctx, 404, 'not_found', 'File not found');
};
