// Runs inside the client's own network and mount namespaces (started by `unshare`, see namespace.ts), as plain
// JavaScript so that it needs no loader: brings up loopback, makes Box's hosts name 127.0.0.1, listens on
// 127.0.0.1:443 and hands that listening socket to the kit (over the IPC channel Node opened), then runs the
// client command and ends as it ends. The socket stays in this namespace: the kit accepts the client's
// connections on it, so the client reaches Box's hosts directly, with no proxy between, and nothing else.
// argv: <hosts file> <file> [args…]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const [hostsFile, file, ...args] = process.argv.slice(2);

function fail(message) {
  process.send({ error: message }, () => process.exit(125));
}

/** Where Debian keeps it, for a PATH without the sbin directories. */
const tool = (name, places) => places.find((place) => existsSync(place)) ?? name;

let setUpError;
try {
  execFileSync(tool('ip', ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip']), ['link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync(tool('mount', ['/usr/bin/mount', '/bin/mount']), ['--bind', hostsFile, '/etc/hosts'], { stdio: ['ignore', 'ignore', 'pipe'] });
} catch (error) {
  setUpError = `${error.path ?? 'setup'}: ${String(error.stderr || error.message).trim()}`;
}
if (setUpError) fail(setUpError);
else listen();

function listen() {
  const listener = createServer();
  listener.once('error', (error) => fail(`cannot listen on 127.0.0.1:443 in the namespace: ${error.message}`));
  listener.listen({ port: 443, host: '127.0.0.1', backlog: 511 }, () => {
    process.send({ listening: true }, listener, () => {
      listener.close();
      process.disconnect();
      // The kit signals every process of the run itself (process-tree.ts); this one only waits for the client.
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => {});
      const child = spawn(file, args, { stdio: 'inherit' });
      child.once('error', (error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(127);
      });
      child.once('exit', (code, signal) => {
        if (signal) {
          process.removeAllListeners(signal);
          process.kill(process.pid, signal);
        }
        process.exit(code ?? 1);
      });
    });
  });
}
