/**
 * The HTTP(S) proxy of an --intercept run, on 127.0.0.1 only. It answers CONNECT for the intercepted
 * hosts (port 443) by terminating TLS with a certificate from the run's CA and handing the decrypted
 * connection to whoever serves that host (the simulated server); it refuses every other CONNECT and
 * every plain-HTTP proxy request with 403. It never opens a connection of its own: nothing leaves
 * the machine. What it saw is kept as a short log, the evidence of where the client tried to go.
 */
import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RunAuthority } from './authority.ts';
import { type InterceptEvent, InterceptEventLog, terminateTls } from './tls-endpoint.ts';

export interface InterceptProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  log(): ReturnType<InterceptEventLog['snapshot']>;
  close(): Promise<void>;
}

export interface InterceptProxyOptions {
  authority: RunAuthority;
  /** Host names answered on port 443 (lowercase). */
  hosts: readonly string[];
  /**
   * Serves one decrypted connection to `host` (after the TLS handshake). `reset` resets the client's TCP
   * connection (RST, no TLS close_notify): a connection the server drops reaches the client as it would direct.
   */
  deliver(socket: TLSSocket, host: string, reset: () => void): void;
}

/** "upload.box.com", 443 from a CONNECT target; undefined when it is not host:port. */
function parseTarget(target: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(target);
  if (!match) return undefined;
  return { host: (match[1] ?? '').toLowerCase(), port: Number(match[2]) };
}

export async function startInterceptProxy(options: InterceptProxyOptions): Promise<InterceptProxy> {
  const hosts = new Set(options.hosts.map((host) => host.toLowerCase()));
  const log = new InterceptEventLog();
  const note = (event: InterceptEvent) => log.note(event);
  const endpoint = { authority: options.authority, hosts, note, deliver: options.deliver };
  const sockets = new Set<Socket>();
  const refusal = `only ${[...hosts].map((host) => `${host}:443`).join(' and ')} are answered here, by the Box conformance kit; nothing leaves this machine\n`;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // A plain-HTTP proxy request (absolute URL) or a request to the proxy itself: nothing is forwarded.
    // The query is left out of the evidence: it may carry a secret (access_token=…).
    const url = req.url ?? '';
    note({ kind: 'refused', target: `${req.method} ${url.includes('?') ? `${url.slice(0, url.indexOf('?'))}?…` : url}` });
    req.resume();
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(refusal);
  });

  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const target = req.url ?? '';
    const parsed = parseTarget(target);
    if (!parsed || parsed.port !== 443 || !hosts.has(parsed.host)) {
      note({ kind: 'refused', target: `CONNECT ${target}` });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(refusal)}\r\nconnection: close\r\n\r\n${refusal}`,
      );
      return;
    }
    const { host } = parsed;
    options.authority.contextFor(host).then(
      (secureContext) => {
        if (socket.destroyed) return;
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) socket.unshift(head);
        terminateTls(socket, endpoint, { host, context: secureContext });
      },
      (error: unknown) => {
        note({ kind: 'tls-failed', target: `CONNECT ${host}:443`, detail: `the kit could not make a certificate: ${String(error)}` });
        socket.destroy();
      },
    );
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A malformed request line: answered by Node with 400; never let it throw.
  server.on('clientError', (_error, socket: Socket) => socket.destroy());

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log.snapshot(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
