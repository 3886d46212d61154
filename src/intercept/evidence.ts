/** What the kit saw of an --intercept run's connections, as evidence: kept apart from the CA so the grader can read it cheaply. */
import type { InterceptEvent, InterceptEventKind } from './tls-endpoint.ts';

/** How the client was brought to the kit: its own network namespace (Box's hosts on its loopback), or HTTPS_PROXY. */
export type InterceptVia = 'namespace' | 'proxy';

export interface InterceptLog {
  via: InterceptVia;
  events: InterceptEvent[];
  counts: Record<InterceptEventKind, number>;
}

/** One line per distinct thing the kit saw, with how often: the evidence of where the client went. */
export function describeInterceptLog(log: InterceptLog): string {
  const lines = new Map<string, number>();
  for (const event of log.events) {
    const what = {
      intercepted: `${event.target}: answered by the simulated server`,
      refused: `${event.target}: refused${log.via === 'proxy' ? ' (403)' : ''}, the kit answers only Box's upload and API hosts${event.detail ? ` (${event.detail})` : ''}`,
      'tls-failed': `${event.target}: TLS failed, ${event.detail ?? ''}`,
    }[event.kind];
    lines.set(what, (lines.get(what) ?? 0) + 1);
  }
  const kept = log.events.length;
  const all = log.counts.intercepted + log.counts.refused + log.counts['tls-failed'];
  return [...[...lines].map(([line, count]) => (count > 1 ? `${line} (×${count})` : line)), ...(all > kept ? [`… and ${all - kept} more`] : [])].join('\n');
}

/** The heading of that evidence in a scenario's attachment. */
export const interceptHeading = (via: InterceptVia) =>
  via === 'proxy' ? 'through the proxy (--intercept)' : "in the client's own network namespace (--intercept)";

/** Why a client that sent no request to the simulated server did not: what the kit saw of it. */
export function noRequestProblem(log: InterceptLog): string {
  const question =
    log.via === 'proxy'
      ? 'the client made no request through the proxy; does it honour HTTPS_PROXY?'
      : "the client made no request to Box's hosts (upload.box.com and api.box.com, which its network namespace answers on 127.0.0.1:443); does it call them over https?";
  const via = log.via === 'proxy' ? ' through the proxy' : '';
  const failure = log.events.find((event) => event.kind === 'tls-failed');
  if (failure) {
    return `${question} It reached ${failure.target.replace(/^CONNECT /, '')}${via} but did not accept the kit's certificate: ${failure.detail}. Does it trust the CA in SSL_CERT_FILE (or take {caFile})?`;
  }
  const refused = log.events.filter((event) => event.kind === 'refused').map((event) => event.target);
  if (refused.length > 0) return `${question} It asked${via} only for what the kit does not answer: ${[...new Set(refused)].slice(0, 5).join(', ')}`;
  if (log.counts.intercepted > 0) return `${question} It opened a TLS connection${via} and sent no request on it`;
  return question;
}
