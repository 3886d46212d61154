import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthClass, Exchange } from './recorder.ts';
import type { ServerState } from './state.ts';

/** One request being answered: the server's state, the request and response, and its traffic record. */
export interface RequestContext {
  readonly state: ServerState;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  url: URL;
  readonly exchange: Exchange;
  readonly requestId: string;
  /** Length of the answer's JSON, once answered: what the traffic record charges for it. */
  responseBytes: number;
  /** The API base URL as the client addressed it: the server's own, or a public host's (--intercept). */
  readonly apiBase: string;
}

/** A header's value; a repeated header counts as malformed and reads as its joined values. */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The auth scheme is case-insensitive (RFC 9110 §11.1), and one or more spaces may follow it: `bearer  x` is as good as `Bearer x`. */
export function authenticate(req: IncomingMessage, token: string | undefined): AuthClass {
  return authClassOf(req.headers.authorization, token);
}

/** How an Authorization value authenticates (see authenticate). */
export function authClassOf(header: string | undefined, token: string | undefined): AuthClass {
  if (header === undefined) return 'missing';
  const match = /^Bearer +(\S+)$/i.exec(header);
  if (!match) return 'malformed';
  return token === undefined || match[1] === token ? 'valid' : 'wrong-token';
}

/** What a route runs; `params` are the route pattern's capture groups. */
export type RouteHandler = (ctx: RequestContext, params: readonly string[]) => void | Promise<void>;
