import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ClientOutcome, ClientUnderTest, UploadJob } from './client.ts';
import { KitError } from '../errors.ts';
import { interceptEnvironment } from '../intercept/environment.ts';
import { listenerOf, namespaceArgv } from '../intercept/namespace.ts';
import { ProcessTree } from './process-tree.ts';

const KEEP_OUTPUT_BYTES = 64 * 1024;
const SHELL_SAFE = /^[\w./:@%+=,-]*$/;

/** `{baseUrl}`, `{token}`, `{file}`, `{fileName}`, `{folderId}` (and `{caFile}` with --intercept) in a command, replaced by the job's values. */
export function expandPlaceholders(command: string, job: UploadJob): string {
  const values: Record<string, string> = { baseUrl: job.baseUrl, token: job.token, file: job.file, fileName: job.fileName, folderId: job.folderId };
  if (job.intercept) values.caFile = job.intercept.caFile;
  else if (command.includes('{caFile}')) throw new KitError('the command uses {caFile}, the CA of --intercept: run it with --intercept');
  for (const [name, value] of Object.entries(values)) {
    // The kit chooses these values; they go into a shell command line unquoted.
    if (!SHELL_SAFE.test(value)) throw new KitError(`the value of {${name}} has characters unsafe in a shell command`);
  }
  return command.replace(/\{(baseUrl|token|file|fileName|folderId|caFile)\}/g, (_, name: string) => values[name] ?? '');
}

export function environmentFor(job: UploadJob): Record<string, string> {
  return {
    UPLOAD_BASE_URL: job.baseUrl,
    UPLOAD_TOKEN: job.token,
    UPLOAD_FILE: job.file,
    UPLOAD_FILE_NAME: job.fileName,
    UPLOAD_FOLDER_ID: job.folderId,
    ...(job.intercept ? interceptEnvironment(job.intercept) : {}),
  };
}

/** Keeps the last `limit` bytes of a stream's output. */
class Tail {
  #chunks: Buffer[] = [];
  #length = 0;
  #dropped = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    while (this.#length > this.limit && this.#chunks.length > 1) {
      const first = this.#chunks.shift() as Buffer;
      this.#length -= first.length;
      this.#dropped += first.length;
    }
  }
  text(): string {
    const body = Buffer.concat(this.#chunks).toString('utf8');
    return this.#dropped > 0 ? `[… ${this.#dropped} bytes cut …]\n${body}` : body;
  }
}

/** How long output still buffered in the pipes is read once the command's processes are gone. */
const DRAIN_MS = 500;
/** Between SIGTERM at the timeout and SIGKILL. */
const TERM_GRACE_MS = 2_000;

/** Resolves when `stream` ends or closes, or after `ms`; then stops reading it either way. */
function drain(stream: Readable, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (stream.readableEnded || stream.destroyed) return done();
    stream.once('end', done);
    stream.once('close', done);
  });
}

export interface CommandClientOptions {
  /** Leave cgroups out even where the kit could create one (tests of the /proc tracking). */
  cgroup?: boolean;
}

/**
 * A client given as a shell command (any language). Each upload runs contained (see process-tree.ts): when
 * the command exits, or at the timeout, every process it started ends with it, including ones that
 * called setsid or were re-parented, and the run never waits on a pipe such a process holds open.
 */
export function commandClient(command: string, options: CommandClientOptions = {}): ClientUnderTest {
  return {
    name: command,
    upload: async (job) => {
      const started = performance.now();
      const expanded = expandPlaceholders(command, job);
      const tree = await ProcessTree.create({ cgroup: options.cgroup });
      const namespace = job.intercept?.via === 'namespace' ? job.intercept : undefined;
      const [file, args] = namespace ? namespaceArgv(namespace.hostsFile, tree.argv(expanded)) : tree.argv(expanded);
      const child = spawn(file, args, {
        env: { ...process.env, ...environmentFor(job), ...tree.env },
        stdio: ['ignore', 'pipe', 'pipe', namespace ? 'ipc' : 'ignore'],
        detached: true,
      });
      // 'exit', not 'close': 'close' waits for the pipes, which a stray descendant may hold forever.
      const exited = new Promise<{ code: number | null } | { error: Error }>((resolve) => {
        child.once('error', (error) => resolve({ error }));
        child.once('exit', (code) => resolve({ code }));
      });
      const { stdout: stdoutPipe, stderr: stderrPipe } = child;
      if (!stdoutPipe || !stderrPipe) throw new KitError('the client command was started without its output pipes');
      // The namespace's 127.0.0.1:443, handed over before the client command starts in it.
      const adopted = namespace && listenerOf(child).then((listener) => namespace.adopt(listener));
      const stdout = new Tail(KEEP_OUTPUT_BYTES);
      const stderr = new Tail(KEEP_OUTPUT_BYTES);
      stdoutPipe.on('data', (chunk: Buffer) => stdout.push(chunk));
      stderrPipe.on('data', (chunk: Buffer) => stderr.push(chunk));
      if (child.pid !== undefined) tree.attach(child.pid);
      let timedOut = false;
      let graceTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        void tree.signal('SIGTERM');
        graceTimer = setTimeout(() => void tree.killAll(), TERM_GRACE_MS);
      }, job.timeoutMs);
      try {
        await adopted;
        const exit = await exited;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        // Whatever the command left running goes with it.
        const leftRunning = await tree.killAll();
        await Promise.all([drain(stdoutPipe, DRAIN_MS), drain(stderrPipe, DRAIN_MS)]);
        if ('error' in exit) throw new KitError(`could not start the client command: ${exit.error.message}`);
        const code = exit.code;
        if (!timedOut && leftRunning > 0) {
          stderr.push(Buffer.from(`\n[the kit ended ${leftRunning} process(es) the client command left running when it exited]\n`));
        }
        const outcome: ClientOutcome = {
          exitCode: timedOut ? null : code,
          timedOut,
          stdout: stdout.text(),
          stderr: stderr.text(),
          durationMs: performance.now() - started,
          leftRunning,
        };
        if (!timedOut && (code === 127 || code === 126)) {
          const detail = outcome.stderr.trim().split('\n').at(-1) ?? '';
          throw new KitError(`the client command ${code === 127 ? 'was not found' : 'is not executable'}: ${detail || command}`);
        }
        return outcome;
      } finally {
        clearTimeout(timer);
        clearTimeout(graceTimer);
        await tree.dispose();
      }
    },
  };
}
