/**
 * --intercept for one conformance run: the run's CA, made once, and for each client run an endpoint in front
 * of that run's simulated server, answering Box's own hosts: in the client's own network namespace where the
 * kit can make one, through an HTTPS proxy where it cannot. What the endpoint saw becomes the run's evidence,
 * and a client that never came through it is the kit's error, not a wall of failed rules.
 */
import type { Duplex } from 'node:stream';
import { createRunAuthority } from './authority.ts';
import type { PublicHost } from '../server/state.ts';
import { BOX_HOSTS, BOX_UPLOAD_BASE_URL } from './box-hosts.ts';
import type { InterceptAccess } from './environment.ts';
import type { InterceptLog, InterceptVia } from './evidence.ts';
import { startNamespaceEndpoint, writeHostsFile } from './namespace.ts';
import { startInterceptProxy } from './proxy.ts';

/** A server that serves connections made to a public host (the simulated server does). */
export interface HostServer {
  acceptConnection(socket: Duplex, host: PublicHost, reset: () => void): void;
}

export interface InterceptedRun {
  access: InterceptAccess;
  /** The base URL the client is given: Box's own. */
  baseUrl: string;
  /** Stops answering and says what was seen. */
  finish(): Promise<InterceptLog>;
}

export interface Interceptor {
  readonly via: InterceptVia;
  readonly caFile: string;
  start(server: HostServer): Promise<InterceptedRun>;
}

/** The run's CA, its certificate (and the namespace's hosts file) written to `workDir` (the run's temporary directory, removed with it). */
export async function createInterceptor(workDir: string, via: InterceptVia): Promise<Interceptor> {
  const authority = await createRunAuthority(workDir);
  const hostsFile = via === 'namespace' ? await writeHostsFile(workDir) : '';
  return {
    via,
    caFile: authority.caFile,
    start: async (server) => {
      const deliver = (socket: Duplex, host: string, reset: () => void) => {
        const publicHost = BOX_HOSTS[host];
        if (publicHost) server.acceptConnection(socket, publicHost, reset);
        else socket.destroy();
      };
      const hosts = Object.keys(BOX_HOSTS);
      let access: InterceptAccess;
      let endpoint: { log(): Omit<InterceptLog, 'via'>; close(): Promise<void> };
      if (via === 'proxy') {
        const proxy = await startInterceptProxy({ authority, hosts, deliver });
        access = { via, proxyUrl: proxy.url, caFile: authority.caFile };
        endpoint = proxy;
      } else {
        const namespace = startNamespaceEndpoint({ authority, hosts, deliver });
        access = { via, caFile: authority.caFile, hostsFile, adopt: namespace.adopt };
        endpoint = namespace;
      }
      return {
        access,
        baseUrl: BOX_UPLOAD_BASE_URL,
        finish: async () => {
          const log = endpoint.log();
          await endpoint.close();
          return { via, ...log };
        },
      };
    },
  };
}
