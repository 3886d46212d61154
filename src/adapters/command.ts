import { spawn } from 'node:child_process';
import type { ClientOutcome, ClientUnderTest, UploadJob } from './client.ts';
import { KitError } from './client.ts';
import { proxyEnvironment } from '../intercept/environment.ts';

const KEEP_OUTPUT_BYTES = 64 * 1024;
const SHELL_SAFE = /^[\w./:@%+=,-]*$/;

/** `{baseUrl}`, `{token}`, `{file}`, `{fileName}`, `{folderId}` (and `{caFile}` with --intercept) in a command, replaced by the job's values. */
export function expandPlaceholders(command: string, job: UploadJob): string {
  const values: Record<string, string> = { baseUrl: job.baseUrl, token: job.token, file: job.file, fileName: job.fileName, folderId: job.folderId };
  if (job.proxy) values.caFile = job.proxy.caFile;
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
    ...(job.proxy ? proxyEnvironment(job.proxy) : {}),
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

/**
 * A client given as a shell command (any language). Runs once per upload in its own process group, so a
 * timeout kills the command and everything it started.
 */
export function commandClient(command: string): ClientUnderTest {
  return {
    name: command,
    upload: (job) =>
      new Promise<ClientOutcome>((resolve, reject) => {
        const started = performance.now();
        const child = spawn('/bin/sh', ['-c', expandPlaceholders(command, job)], {
          env: { ...process.env, ...environmentFor(job) },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        const stdout = new Tail(KEEP_OUTPUT_BYTES);
        const stderr = new Tail(KEEP_OUTPUT_BYTES);
        child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
        child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        let timedOut = false;
        const killGroup = (signal: NodeJS.Signals) => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, signal);
          } catch {
            // already gone
          }
        };
        const timer = setTimeout(() => {
          timedOut = true;
          killGroup('SIGTERM');
          setTimeout(() => killGroup('SIGKILL'), 2_000).unref();
        }, job.timeoutMs);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(new KitError(`could not start the client command: ${error.message}`));
        });
        child.once('close', (code) => {
          clearTimeout(timer);
          // Whatever the command left running goes with it.
          killGroup('SIGKILL');
          const outcome = { exitCode: timedOut ? null : code, timedOut, stdout: stdout.text(), stderr: stderr.text(), durationMs: performance.now() - started };
          if (code === 127 || code === 126) {
            const detail = outcome.stderr.trim().split('\n').at(-1) ?? '';
            reject(new KitError(`the client command ${code === 127 ? 'was not found' : 'is not executable'}: ${detail || command}`));
            return;
          }
          resolve(outcome);
        });
      }),
  };
}
