// `npm run server` in a process of its own, as a test suite in another language would run it: the soak
// reads its peak memory from the kernel and notices when it dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SERVER = [process.execPath, '--no-warnings', '--import', './src/register.mjs', 'src/cli/server.ts'];
const STDERR_TAIL = 16 * 1024;

export interface ServerOptions {
  token: string;
  partSize: number;
  storageDir: string;
  /** Start under `ulimit -n <n>` (a shell sets it, then execs the server). */
  maxOpenFiles?: number;
  /** More `npm run server` options. */
  extraArgs?: string[];
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the server wrote to stderr. */
  stderr: string;
}

/** The line of a dead server's stderr that says why (an uncaught error's message), or its last line. */
export function crashSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (
    lines.find((line) => /^(\w*Error|Error)\b|^node:internal|Unhandled|ENOSPC|EROFS|EMFILE|ENOENT/.test(line) && !line.startsWith('at ')) ??
    lines.at(-1) ??
    '(no output)'
  );
}

/** How many regular files a storage directory holds (0 when it is gone). */
export async function filesUnder(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) if (entry.isFile()) count += 1;
  return count;
}

/** Peak resident set size of a live process (VmHWM), in MiB; undefined once it is gone. */
export async function peakRssMiB(pid: number): Promise<number | undefined> {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  } catch {
    return undefined;
  }
}

/** Every server started and not yet gone: none outlives the soak, whatever ends it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class ServerProcess {
  readonly #child: ChildProcess;
  readonly baseUrl: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  /** Resolves when the process ends, by itself or by `stop()`. */
  readonly exited: Promise<ServerExit>;
  #stopping = false;
  /** Highest VmHWM read so far (the kernel's figure vanishes with the process). */
  #peak = 0;

  private constructor(child: ChildProcess, baseUrl: string, token: string, exited: Promise<ServerExit>) {
    this.#child = child;
    this.baseUrl = baseUrl;
    this.origin = new URL(baseUrl).origin;
    this.port = Number(new URL(baseUrl).port);
    this.token = token;
    this.exited = exited;
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const args = [
      ...SERVER,
      '--token',
      options.token,
      '--part-size',
      String(options.partSize),
      '--min-file-size',
      '1',
      '--storage-dir',
      options.storageDir,
      ...(options.extraArgs ?? []),
    ];
    const [file, argv] =
      options.maxOpenFiles === undefined
        ? [args[0] as string, args.slice(1)]
        : ['/bin/sh', ['-c', `ulimit -n ${options.maxOpenFiles} && exec "$@"`, 'sh', ...args]];
    const child = spawn(file, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    const exited = new Promise<ServerExit>((done) => child.once('exit', (code, signal) => done({ code, signal, stderr })));
    const baseUrl = await new Promise<string>((done, fail) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const newline = seen.indexOf('\n');
        if (newline >= 0) done(seen.slice(0, newline).trim());
      });
      void exited.then((exit) => fail(new Error(`npm run server exited (${exit.code ?? exit.signal}) before it listened: ${exit.stderr.trim()}`)));
    });
    return new ServerProcess(child, baseUrl, options.token, exited);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Whether the process ended without being asked to. */
  get crashed(): boolean {
    return !this.alive && !this.#stopping;
  }

  async samplePeakRss(): Promise<number> {
    const now = await peakRssMiB(this.pid);
    if (now !== undefined) this.#peak = Math.max(this.#peak, now);
    return this.#peak;
  }

  get auth(): [string, string] {
    return ['authorization', `Bearer ${this.token}`];
  }

  async stop(): Promise<ServerExit> {
    if (this.alive) {
      await this.samplePeakRss();
      this.#stopping = true;
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    }
    return this.exited;
  }
}
