import { boxError } from '../protocol/shapes.ts';
import { receiveBody, receiveJson } from './body.ts';
import type { RequestContext } from './context.ts';

const MiB = 1024 * 1024;
export const MAX_JSON_BYTES = 4 * MiB;
/** Bodies of rejected requests are read and discarded up to this size, so the client sees the answer. */
const MAX_DRAIN_BYTES = 64 * MiB;

export interface FailExtra {
  context?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Answers with `body` as JSON (none when undefined) and records the answer in the exchange. */
export function reply(ctx: RequestContext, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const all: Record<string, string> = { 'box-request-id': ctx.requestId, ...headers };
  if (body !== undefined) all['content-type'] = 'application/json';
  ctx.exchange.status = status;
  // Sent with the names as given (Node keeps their case on the wire), recorded in lower case like request headers.
  ctx.exchange.responseHeaders = Object.fromEntries(Object.entries(all).map(([name, value]) => [name.toLowerCase(), value]));
  ctx.exchange.responseBody = body;
  if (ctx.res.headersSent || ctx.res.destroyed) return;
  ctx.res.writeHead(status, all);
  ctx.res.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Answers with Box's error JSON. */
export function fail(ctx: RequestContext, status: number, code: string, message: string, extra: FailExtra = {}): void {
  reply(ctx, status, boxError(status, code, message, ctx.requestId, extra.context), extra.headers);
}

/** Reads and discards what is left of the body (up to a bound), then answers; past the bound the connection is closed. */
export async function drainThenFail(ctx: RequestContext, status: number, code: string, message: string, extra: FailExtra = {}): Promise<void> {
  // JSON bodies are kept even when refused, so the record shows what the client meant to send.
  const json = ctx.exchange.op === 'create' || ctx.exchange.op === 'commit';
  const body = json
    ? await receiveJson(ctx.req, MAX_JSON_BYTES)
    : await receiveBody(ctx.req, { maxBytes: MAX_DRAIN_BYTES }).then((received) => ({ ...received, sha1: received.sha1.toString('hex'), value: undefined }));
  if (ctx.exchange.requestBody.length === 0) {
    ctx.exchange.requestBody = { length: body.length, sha1: body.sha1, json: body.value, truncated: body.outcome === 'too-large' || undefined };
  }
  if (body.outcome === 'aborted') return markAborted(ctx);
  const headers = body.outcome === 'too-large' ? { ...extra.headers, connection: 'close' } : extra.headers;
  fail(ctx, status, code, message, { ...extra, headers });
}

/** The client went away mid-request: record it and let the connection go. */
export function markAborted(ctx: RequestContext): void {
  ctx.exchange.clientAborted = true;
  ctx.res.destroy();
}
