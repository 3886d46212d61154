// The bench's real processes: `npm run server` and the clients, each measured from outside.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KIT_ROOT } from '../src/kit/conformance.ts';
import { committedFileIdOf } from '../src/protocol/answers.ts';

const TIME = '/usr/bin/time';

/** The argv of an npm script of the kit (`npm run <name>`), to run without npm in between: what is measured is the command itself. */
export async function npmScript(name: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(KIT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = manifest.scripts[name];
  if (!script) throw new Error(`package.json has no "${name}" script`);
  const [program, ...args] = script.split(/\s+/);
  return [program === 'node' ? process.execPath : (program ?? ''), ...args];
}

/** Peak resident set size of a running process (VmHWM), in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmHWM for process ${pid}`);
  return Number(kib) * 1024;
}

/** What the bench reads of the server's traffic record. */
interface TrafficEntry {
  op: string;
  status?: number;
  startMs: number;
  endMs?: number;
  responseBody?: { entries?: { id?: string }[] };
}

export interface BenchServer {
  baseUrl: string;
  origin: string;
  /** Peak RSS so far, bytes. */
  peakRss(): Promise<number>;
  /** The committed file's content as served back, hashed here. */
  contentSha1(fileId: string): Promise<string>;
  /** The file the one commit of this server created, and how long that commit took to answer. */
  committed(): Promise<{ fileId: string; commitMs: number } | undefined>;
  stop(): Promise<void>;
}

/** `npm run server` in its own process with its own storage, optionally delaying every part's answer. */
export async function startServer(token: string, partDelayMs: number): Promise<BenchServer> {
  const storage = await mkdtemp(join(tmpdir(), 'bench-server-'));
  const [program = '', ...args] = await npmScript('server');
  const child: ChildProcess = spawn(program, [...args, '--token', token, '--storage-dir', storage], { cwd: KIT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
    await rm(storage, { recursive: true, force: true });
  };
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
      child.once('close', () => reject(new Error(`the server exited before it listened: ${stderr.trim()}`)));
    });
    const origin = new URL(baseUrl).origin;
    if (partDelayMs > 0) {
      const plan = { instructions: [{ op: 'part', action: { kind: 'delay', ms: partDelayMs } }] };
      const res = await fetch(`${origin}/_control/faults`, { method: 'PUT', body: JSON.stringify(plan) });
      if (!res.ok) throw new Error(`the server refused the delay plan: HTTP ${res.status}`);
    }
    const auth = { authorization: `Bearer ${token}` };
    return {
      baseUrl,
      origin,
      peakRss: () => peakRss(child.pid ?? -1),
      committed: async () => {
        const res = await fetch(`${origin}/_control/traffic`);
        const { exchanges } = (await res.json()) as { exchanges: TrafficEntry[] };
        const commit = exchanges.find((exchange) => exchange.op === 'commit' && exchange.status === 201);
        const fileId = committedFileIdOf(commit?.responseBody);
        if (!commit || fileId === undefined) return undefined;
        return { fileId, commitMs: (commit.endMs ?? commit.startMs) - commit.startMs };
      },
      contentSha1: async (fileId) => {
        const res = await fetch(`${baseUrl}/files/${fileId}/content`, { headers: auth });
        if (!res.ok || !res.body) return `HTTP ${res.status}`;
        const hash = createHash('sha1');
        for await (const chunk of res.body) hash.update(chunk);
        return hash.digest('hex');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface Measured {
  wallSeconds: number;
  /** Peak RSS of the largest process of the client (GNU time's figure), bytes. */
  peakRss: number;
  exitCode: number | null;
  /** The end of its stderr, for a failure's message. */
  stderr: string;
}

/** Runs a client under GNU time: wall time measured here, peak RSS from time's report (in its own file, apart from the client's stderr). */
export async function runMeasured(argv: string[], env: Record<string, string>): Promise<Measured> {
  const report = join(await mkdtemp(join(tmpdir(), 'bench-time-')), 'time');
  const started = performance.now();
  const child = spawn(TIME, ['-f', '%M', '-o', report, ...argv], { cwd: KIT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const [exitCode] = (await once(child, 'close')) as [number | null];
  const wallSeconds = (performance.now() - started) / 1000;
  const kib = Number((await readFile(report, 'utf8')).trim().split('\n').at(-1));
  await rm(join(report, '..'), { recursive: true, force: true });
  if (!Number.isFinite(kib)) throw new Error(`GNU time gave no peak RSS for ${argv.join(' ')}`);
  return { wallSeconds, peakRss: kib * 1024, exitCode, stderr };
}
