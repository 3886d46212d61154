/**
 * --intercept without a proxy: the client runs in network and mount namespaces of its own (util-linux
 * `unshare`), where only loopback exists, /etc/hosts names Box's hosts 127.0.0.1, and 127.0.0.1:443 is a
 * socket the kit accepts on. The client connects to Box's hosts as it would to Box, so what it meets of a
 * dropped connection is what it meets direct (a proxy changes that: urllib3 reports any failure of a proxied
 * connection as a ProxyError), and it cannot reach anything else.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KitError } from '../errors.ts';
import type { RunAuthority } from './authority.ts';
import { BOX_HOSTS } from './box-hosts.ts';
import { InterceptEventLog, terminateTls } from './tls-endpoint.ts';

const HELPER = fileURLToPath(new URL('./namespace-helper.mjs', import.meta.url));

/** root needs no user namespace; anyone else maps themselves to root in one (where the system allows it). */
const unshareArgs = () => [...(process.getuid?.() === 0 ? [] : ['--user', '--map-root-user']), '--net', '--mount', '--'];

let support: string | undefined | null = null;

/** Why the kit cannot give a client a namespace of its own here (undefined: it can). Asked once per process. */
export function namespaceUnavailable(): string | undefined {
  if (support !== null) return support;
  if (process.platform !== 'linux') return (support = 'network namespaces are Linux only');
  const probe = spawnSync('unshare', [...unshareArgs(), 'sh', '-c', 'PATH="$PATH:/usr/sbin:/sbin"; ip link set lo up && mount --bind /etc/hosts /etc/hosts'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
  });
  if (probe.error) return (support = `unshare could not be run: ${probe.error.message}`);
  if (probe.status !== 0) return (support = `unshare, ip or mount failed: ${probe.stderr.toString().trim().split('\n').at(-1) ?? `exit ${probe.status}`}`);
  return (support = undefined);
}

/** The hosts file the client's namespace sees: Box's hosts on 127.0.0.1, nothing else but localhost. */
export async function writeHostsFile(dir: string): Promise<string> {
  const path = join(dir, 'intercept-hosts');
  await writeFile(path, `127.0.0.1 localhost\n::1 localhost\n127.0.0.1 ${Object.keys(BOX_HOSTS).join(' ')}\n`);
  return path;
}

/** argv running `[file, ...args]` in a namespace of its own; spawn it with an 'ipc' channel and hand the child to `listenerOf`. */
export function namespaceArgv(hostsFile: string, [file, args]: [string, string[]]): [string, string[]] {
  return ['unshare', [...unshareArgs(), process.execPath, HELPER, hostsFile, file, ...args]];
}

/** The namespace's 127.0.0.1:443, once the helper has it listening (before the client command starts). */
export function listenerOf(child: ChildProcess): Promise<Server> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new KitError(`the client's network namespace could not be set up (exit ${code})`));
    child.once('exit', onExit);
    child.once('message', (message: unknown, handle: unknown) => {
      child.off('exit', onExit);
      const error = (message as { error?: unknown } | null)?.error;
      if (typeof error === 'string') reject(new KitError(`the client's network namespace could not be set up: ${error}`));
      else if (handle && typeof (handle as Server).on === 'function') resolve(handle as Server);
      else reject(new KitError("the client's network namespace sent no listening socket"));
    });
  });
}

export interface NamespaceEndpoint {
  /** Accepts the client's connections on a namespace's 127.0.0.1:443 listener (listenerOf). */
  adopt(listener: Server): void;
  log(): ReturnType<InterceptEventLog['snapshot']>;
  close(): Promise<void>;
}

/** Where a namespaced client's connections to Box's hosts end: TLS for the host its SNI names, then `deliver`. */
export function startNamespaceEndpoint(options: {
  authority: RunAuthority;
  /** Host names answered on port 443 (lowercase). */
  hosts: readonly string[];
  deliver(socket: TLSSocket, host: string, reset: () => void): void;
}): NamespaceEndpoint {
  const log = new InterceptEventLog();
  const endpoint = { authority: options.authority, hosts: new Set(options.hosts), note: log.note.bind(log), deliver: options.deliver };
  const listeners = new Set<Server>();
  const sockets = new Set<Socket>();
  return {
    adopt: (listener) => {
      listeners.add(listener);
      listener.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
        terminateTls(socket, endpoint);
      });
    },
    log: () => log.snapshot(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([...listeners].map((listener) => new Promise<void>((resolve) => listener.close(() => resolve()))));
    },
  };
}
