/**
 * Where an intercepted connection's TLS ends: the kit presents a certificate for the Box host the client
 * asked for, signed by the run's CA, and hands the decrypted connection on. The host is known in advance
 * through the proxy (the CONNECT named it) and read from the client's server name (SNI) in the client's
 * own namespace, where the client connects to Box's hosts directly.
 */
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { RunAuthority } from './authority.ts';

export type InterceptEventKind = 'intercepted' | 'refused' | 'tls-failed';

export interface InterceptEvent {
  kind: InterceptEventKind;
  /** What the client asked for: "CONNECT host:port" through the proxy, "host:443" in its namespace, or a plain proxy request's URL. */
  target: string;
  /** For a TLS failure: what the client did (the alert it sent, or that it hung up). */
  detail?: string;
}

export interface TlsEndpoint {
  authority: RunAuthority;
  /** Host names answered (lowercase). */
  hosts: ReadonlySet<string>;
  note(event: InterceptEvent): void;
  /** Serves one decrypted connection to `host`. `reset` resets the client's TCP connection (RST, no TLS close_notify). */
  deliver(socket: TLSSocket, host: string, reset: () => void): void;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** "the client sent TLS alert unknown_ca", from Node's error for an alert the peer sent. */
export function describeTlsFailure(error: Error & { code?: string }): string {
  const alert = /ALERT_([A-Z_]+)$/.exec(error.code ?? '')?.[1];
  const number = /alert number (\d+)/.exec(error.message)?.[1];
  if (alert) return `the client sent TLS alert ${alert.toLowerCase()}${number ? ` (${number})` : ''}`;
  if (error.code === 'ECONNRESET') return 'the client reset the connection during the TLS handshake';
  return `the TLS handshake failed: ${error.message}`;
}

/**
 * Terminates TLS on `socket`: for `known.host` with its context (through the proxy), or for whichever of the
 * endpoint's hosts the client names in its SNI (no name, or another name, is refused).
 */
export function terminateTls(socket: Socket, endpoint: TlsEndpoint, known?: { host: string; context: SecureContext }): void {
  let host = known?.host;
  const target = () => (known ? `CONNECT ${known.host}:443` : `${host ?? '(no server name)'}:443`);
  let refused = false;
  const tls = new TLSSocket(socket, {
    isServer: true,
    ALPNProtocols: ['http/1.1'],
    ...(known
      ? { secureContext: known.context }
      : {
          SNICallback: (servername: string, answer: (error: Error | null, context?: SecureContext) => void) => {
            host = servername.toLowerCase();
            if (!endpoint.hosts.has(host)) {
              refused = true;
              answer(new Error(`not a Box host: ${servername}`));
              return;
            }
            endpoint.authority.contextFor(host).then(
              (context) => answer(null, context),
              (error: unknown) => answer(error instanceof Error ? error : new Error(String(error))),
            );
          },
        }),
  });
  const timer = setTimeout(() => tls.destroy(new Error('no TLS handshake within 10 s')), HANDSHAKE_TIMEOUT_MS);
  let secured = false;
  let failed = false;
  tls.once('secure', () => {
    secured = true;
    clearTimeout(timer);
    if (host === undefined) {
      failed = true;
      endpoint.note({ kind: 'refused', target: target(), detail: 'the client named no host (no SNI)' });
      tls.destroy();
      return;
    }
    endpoint.note({ kind: 'intercepted', target: target() });
    endpoint.deliver(tls, host, () => {
      if (!socket.destroyed) socket.resetAndDestroy();
      tls.destroy();
    });
  });
  tls.on('error', (error: Error & { code?: string }) => {
    if (secured || failed) return;
    failed = true;
    clearTimeout(timer);
    if (refused) endpoint.note({ kind: 'refused', target: target() });
    else endpoint.note({ kind: 'tls-failed', target: target(), detail: describeTlsFailure(error) });
    tls.destroy();
  });
  tls.once('close', () => {
    clearTimeout(timer);
    if (!secured && !failed) endpoint.note({ kind: 'tls-failed', target: target(), detail: 'the client closed the connection during the TLS handshake' });
  });
}

/** The first events, in order (bounded), and how many of each kind there were in all. */
export class InterceptEventLog {
  static readonly KEPT_EVENTS = 200;
  readonly #events: InterceptEvent[] = [];
  readonly #counts: Record<InterceptEventKind, number> = { intercepted: 0, refused: 0, 'tls-failed': 0 };
  note(event: InterceptEvent): void {
    this.#counts[event.kind] += 1;
    if (this.#events.length < InterceptEventLog.KEPT_EVENTS) this.#events.push(event);
  }
  snapshot(): { events: InterceptEvent[]; counts: Record<InterceptEventKind, number> } {
    return { events: [...this.#events], counts: { ...this.#counts } };
  }
}
