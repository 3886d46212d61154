import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { boxError } from '../protocol/shapes.ts';
import { type ReceivedJson, parseJsonBody, receiveBody, receiveJson } from './body.ts';
import { type RequestContext, headerOf } from './context.ts';
import { JSON_KEPT_BYTES, detachedPrefix, recordAnswer, recordedBody } from './recorder.ts';
import { storageFailure } from './storage-errors.ts';

const MiB = 1024 * 1024;
export const MAX_JSON_BYTES = 4 * MiB;
/**
 * Bodies of refused requests are read and discarded up to this size, so that the client sees the answer
 * and the connection stays usable; a longer body (or a longer Content-Length) is answered at once and the
 * connection closed.
 */
export const MAX_DRAIN_BYTES = 64 * MiB;
/** Error messages quote what the client sent; past this they are cut. */
const MAX_MESSAGE_CHARS = 1024;

export interface FailExtra {
  context?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Whether every byte of the request's body has arrived (or it has none), so the connection can carry the next request. */
export function bodyReceived(req: IncomingMessage): boolean {
  if (req.complete) return true;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0);
}

/**
 * Answers with `body` as JSON (none when undefined) and records the answer in the exchange. The body is
 * serialised before anything is sent, so a body that cannot be serialised is a clean 500, never a
 * half-sent answer; when the request's body was not read to its end the connection is closed after it.
 */
export function reply(ctx: RequestContext, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  let text: string | undefined;
  try {
    text = body === undefined ? undefined : JSON.stringify(body);
  } catch (error) {
    const problem = boxError(500, 'simulator_error', `The simulated server could not serialise its answer: ${String(error)}`, ctx.requestId);
    return reply(ctx, 500, problem);
  }
  const all: Record<string, string> = { 'box-request-id': ctx.requestId, ...headers };
  if (text !== undefined) {
    all['content-type'] = 'application/json';
    all['content-length'] = String(Buffer.byteLength(text));
  }
  if (!bodyReceived(ctx.req)) all.connection = 'close';
  ctx.exchange.status = status;
  // Sent with the names as given (Node keeps their case on the wire), and recorded so: a team sees `retry-after` as Box sends it.
  ctx.exchange.responseHeaders = { ...all };
  recordAnswer(ctx.exchange, body);
  ctx.responseBytes = text?.length ?? 0;
  if (ctx.res.headersSent || ctx.res.destroyed) return;
  ctx.res.writeHead(status, all);
  ctx.res.end(text);
  // Answered now: the response's 'close' comes a turn later, possibly after the client has read this answer
  // and sent its next request on another connection, which would then seem to start before this one ended.
  ctx.exchange.endMs = performance.now();
}

/**
 * Answers 200 with `{"<name>": [items...], ...rest}`, serialising the items a few at a time as the client
 * reads them: a long list (the whole traffic record) never becomes one string in memory. A failure
 * midway destroys the connection, so the client never mistakes a cut answer for a whole one.
 */
export async function replyWithList(ctx: RequestContext, name: string, items: readonly unknown[], rest: Record<string, unknown>): Promise<void> {
  const tail = JSON.stringify(rest).slice(1);
  ctx.exchange.status = 200;
  const headers: Record<string, string> = { 'box-request-id': ctx.requestId, 'content-type': 'application/json' };
  if (!bodyReceived(ctx.req)) headers.connection = 'close';
  ctx.exchange.responseHeaders = headers;
  if (ctx.res.headersSent || ctx.res.destroyed) return;
  ctx.res.writeHead(200, headers);
  try {
    ctx.res.write(`{${JSON.stringify(name)}:[`);
    for (let start = 0; start < items.length; start += 64) {
      const batch = items.slice(start, start + 64).map((item) => JSON.stringify(item));
      const more = ctx.res.write(`${start > 0 ? ',' : ''}${batch.join(',')}`);
      if (ctx.res.destroyed) return;
      if (!more) await Promise.race([once(ctx.res, 'drain'), once(ctx.res, 'close')]);
    }
    ctx.res.end(`]${tail === '}' ? '}' : `,${tail}`}`);
  } catch {
    ctx.res.destroy();
  }
}

/** Answers with Box's error JSON. */
export function fail(ctx: RequestContext, status: number, code: string, message: string, extra: FailExtra = {}): void {
  reply(ctx, status, boxError(status, code, detachedPrefix(message, MAX_MESSAGE_CHARS), ctx.requestId, extra.context), extra.headers);
}

/** Answers a fault of the simulator's storage met while `doing` something: 507 for a full disk, 503 out of descriptors, else 500. */
export function failStorage(ctx: RequestContext, error: unknown, doing: string): void {
  const failure = storageFailure(error, doing);
  fail(ctx, failure.status, failure.code, failure.message, { headers: failure.headers });
}

/** Reads and discards the rest of a body, up to MAX_DRAIN_BYTES; whether it was read to its end. */
async function drainRest(ctx: RequestContext, alreadyRead: number): Promise<boolean> {
  const declared = Number(headerOf(ctx.req, 'content-length') ?? Number.NaN);
  if (declared > MAX_DRAIN_BYTES) return false;
  const rest = await receiveBody(ctx.req, { maxBytes: MAX_DRAIN_BYTES - alreadyRead });
  return rest.outcome === 'complete';
}

/**
 * Reads and discards what is left of the body (up to a bound), then answers; past the bound the
 * connection is closed. A create or commit body is kept in the record (bounded) even when refused, so
 * the record shows what the client meant to send.
 */
export async function drainThenFail(ctx: RequestContext, status: number, code: string, message: string, extra: FailExtra = {}): Promise<void> {
  const declared = Number(headerOf(ctx.req, 'content-length') ?? Number.NaN);
  if (!(declared > MAX_DRAIN_BYTES) && !ctx.req.readableEnded && ctx.exchange.requestBody.length === 0) {
    const json = ctx.exchange.op === 'create' || ctx.exchange.op === 'commit';
    const body = await receiveBody(ctx.req, { maxBytes: MAX_DRAIN_BYTES, keepBytes: json ? JSON_KEPT_BYTES : undefined });
    const value = body.kept ? parseJsonBody(body.kept).value : undefined;
    ctx.exchange.requestBody = recordedBody({ ...body, sha1: body.sha1.toString('hex'), json: value }, body.outcome === 'too-large');
    if (body.outcome === 'aborted') return markAborted(ctx);
  }
  fail(ctx, status, code, message, extra);
}

/**
 * Reads a JSON body of at most `maxBytes` and records it; answers (and resolves undefined) when it is
 * too large (413, after draining the rest), not JSON, or nested too deeply (400), or when the client left.
 */
export async function readJsonBody(ctx: RequestContext, maxBytes: number): Promise<ReceivedJson | undefined> {
  const body = await receiveJson(ctx.req, maxBytes);
  ctx.exchange.requestBody = recordedBody({ ...body, json: body.value }, body.outcome === 'too-large');
  switch (body.outcome) {
    case 'ok':
      return body;
    case 'aborted':
      markAborted(ctx);
      return undefined;
    case 'too-large':
      await drainRest(ctx, body.length);
      fail(ctx, 413, 'request_entity_too_large', `The body is larger than ${maxBytes} bytes`);
      return undefined;
    case 'too-deep':
      fail(ctx, 400, 'bad_request', 'The body nests JSON too deeply');
      return undefined;
    case 'invalid':
      fail(ctx, 400, 'bad_request', 'Body is not valid JSON');
      return undefined;
  }
}

/** The client went away mid-request: record it and let the connection go. */
export function markAborted(ctx: RequestContext): void {
  ctx.exchange.clientAborted = true;
  ctx.res.destroy();
}
