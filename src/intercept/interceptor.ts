/**
 * --intercept for one conformance run: the run's CA, made once, and for each client run a proxy in front
 * of that run's simulated server, answering Box's own hosts. What the proxy saw becomes the run's
 * evidence, and a client that never came through it is the kit's error, not a wall of failed rules.
 */
import type { Duplex } from 'node:stream';
import { createRunAuthority } from './authority.ts';
import type { PublicHost } from '../server/state.ts';
import { BOX_HOSTS, BOX_UPLOAD_BASE_URL } from './box-hosts.ts';
import type { ProxyAccess } from './environment.ts';
import type { ProxyLog } from './evidence.ts';
import { startInterceptProxy } from './proxy.ts';

/** A server that serves connections made to a public host (the simulated server does). */
export interface HostServer {
  acceptConnection(socket: Duplex, host: PublicHost, reset: () => void): void;
}

export interface InterceptedRun {
  access: ProxyAccess;
  /** The base URL the client is given: Box's own. */
  baseUrl: string;
  /** Stops the proxy and says what it saw. */
  finish(): Promise<ProxyLog>;
}

export interface Interceptor {
  readonly caFile: string;
  start(server: HostServer): Promise<InterceptedRun>;
}

/** The run's CA, its certificate written to `workDir` (the run's temporary directory, removed with it). */
export async function createInterceptor(workDir: string): Promise<Interceptor> {
  const authority = await createRunAuthority(workDir);
  return {
    caFile: authority.caFile,
    start: async (server) => {
      const proxy = await startInterceptProxy({
        authority,
        hosts: Object.keys(BOX_HOSTS),
        deliver: (socket, host, reset) => {
          const publicHost = BOX_HOSTS[host];
          if (publicHost) server.acceptConnection(socket, publicHost, reset);
          else socket.destroy();
        },
      });
      return {
        access: { proxyUrl: proxy.url, caFile: authority.caFile },
        baseUrl: BOX_UPLOAD_BASE_URL,
        finish: async () => {
          const log = proxy.log();
          await proxy.close();
          return log;
        },
      };
    },
  };
}
