/** What the proxy of an --intercept run saw, as evidence: kept apart from the CA so the grader can read it cheaply. */
import type { ProxyEvent, ProxyEventKind } from './proxy.ts';

export interface ProxyLog {
  events: ProxyEvent[];
  counts: Record<ProxyEventKind, number>;
}

/** One line per distinct thing the proxy saw, with how often: the evidence of where the client went. */
export function describeProxyLog(log: ProxyLog): string {
  const lines = new Map<string, number>();
  for (const event of log.events) {
    const what = {
      intercepted: `${event.target}: answered by the simulated server`,
      refused: `${event.target}: refused (403), the kit answers only Box's upload and API hosts`,
      'tls-failed': `${event.target}: TLS failed, ${event.detail ?? ''}`,
    }[event.kind];
    lines.set(what, (lines.get(what) ?? 0) + 1);
  }
  const kept = log.events.length;
  const all = log.counts.intercepted + log.counts.refused + log.counts['tls-failed'];
  return [...[...lines].map(([line, count]) => (count > 1 ? `${line} (×${count})` : line)), ...(all > kept ? [`… and ${all - kept} more`] : [])].join('\n');
}

/** Why a client that sent no request to the simulated server did not: what the proxy saw of it. */
export function noRequestProblem(log: ProxyLog): string {
  const question = 'the client made no request through the proxy; does it honour HTTPS_PROXY?';
  const failure = log.events.find((event) => event.kind === 'tls-failed');
  if (failure) {
    return `${question} It reached ${failure.target.replace(/^CONNECT /, '')} through the proxy but did not accept the kit's certificate: ${failure.detail}. Does it trust the CA in SSL_CERT_FILE (or take {caFile})?`;
  }
  const refused = log.events.filter((event) => event.kind === 'refused').map((event) => event.target);
  if (refused.length > 0) return `${question} It asked the proxy only for what the kit does not answer: ${[...new Set(refused)].slice(0, 5).join(', ')}`;
  if (log.counts.intercepted > 0) return `${question} It opened a TLS connection through the proxy and sent no request on it`;
  return question;
}
