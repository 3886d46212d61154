/**
 * A request Node's HTTP parser refused (a header value holding a bare CR or a line break, a malformed
 * request line, a head too large), recorded like any other: what it was (method, path, headers, as far
 * as the raw head shows them), the raw head itself with its credentials scrubbed, and the parser's reason.
 * The grader then judges it on every rule, as the request the client sent.
 */
import { authClassOf } from './context.ts';
import { type Exchange, type TrafficRecorder, recordAnswer, redactCredentials } from './recorder.ts';
import { matchRoute } from './routes.ts';

/** The most of a refused request's raw head the record keeps. */
export const RAW_HEAD_CHARS = 4096;

export interface ParsedHead {
  method: string;
  url: string;
  /** Lower-case names; a repeated header's values joined with ", ", as Node does. */
  headers: Record<string, string>;
  /** The head as received (latin1), from its request line to its blank line, cut at RAW_HEAD_CHARS. */
  raw: string;
}

const REQUEST_LINE = /(?:^|\n)([A-Z]+) (\S+) HTTP\/\d\.\d\r?(?=\n)/g;

/**
 * The head of the request being parsed when the parser gave up: the last request line at or before the
 * error's offset in the packet, up to the blank line that ends the head (or the packet's end).
 */
export function parseRefusedHead(packet: Buffer, bytesParsed: number | undefined): ParsedHead {
  const text = packet.toString('latin1');
  const until = Math.min(text.length, (bytesParsed ?? text.length) + 1);
  let start = -1;
  let method = '';
  let url = '';
  for (const match of text.slice(0, Math.max(until, text.indexOf('\n') + 1)).matchAll(REQUEST_LINE)) {
    start = match.index + (match[0].startsWith('\n') ? 1 : 0);
    method = match[1] ?? '';
    url = match[2] ?? '';
  }
  const from = Math.max(start, 0);
  const end = /\r?\n\r?\n/.exec(text.slice(from));
  const head = text.slice(from, end ? from + end.index : text.length);
  const headers: Record<string, string> = {};
  // Lines end at LF (CRLF or bare LF); a bare CR stays in the value it was sent in.
  for (const line of head.split('\n').slice(start < 0 ? 0 : 1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line
      .slice(colon + 1)
      .replace(/\r$/, '')
      .trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { method, url, headers, raw: scrub(head).slice(0, RAW_HEAD_CHARS) };
}

/** The raw head with every credentials header's secret replaced, as the record keeps request headers. */
function scrub(head: string): string {
  return head
    .split('\n')
    .map((line) => {
      const match = /^((?:proxy-)?authorization)\s*:(.*?)(\r?)$/i.exec(line);
      return match ? `${match[1]}: ${redactCredentials(match[2] ?? '')}${match[3]}` : line;
    })
    .join('\n');
}

/** Ops whose path names an upload session in its first group. */
const SESSION_OPS = new Set(['status', 'part', 'abort', 'list', 'commit', 'log']);

/** Records a refused request and the answer the server gave it. */
export function recordRefusedRequest(
  recorder: TrafficRecorder,
  token: string | undefined,
  head: ParsedHead,
  reason: string,
  answer: { status: number; headers: Record<string, string>; body: unknown; bytes: number },
): Exchange {
  const headers = Object.fromEntries(
    Object.entries(head.headers).map(([name, value]) => [name, name === 'authorization' || name === 'proxy-authorization' ? redactCredentials(value) : value]),
  );
  const exchange = recorder.begin({ method: head.method, url: head.url, requestHeaders: headers, auth: authClassOf(head.headers.authorization, token) });
  const path = head.url.split('?')[0] ?? '';
  const match = matchRoute(head.method, path);
  exchange.op = match.op;
  if (match.kind === 'endpoint' && SESSION_OPS.has(match.op) && match.params[0] !== undefined) exchange.sessionId = match.params[0].slice(0, 100);
  exchange.parserRefused = { reason, head: head.raw };
  exchange.status = answer.status;
  exchange.responseHeaders = answer.headers;
  recordAnswer(exchange, answer.body);
  exchange.endMs = performance.now();
  if (exchange.op !== 'control') recorder.finish(exchange, answer.bytes);
  return exchange;
}
