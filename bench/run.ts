// Measures what the README's performance section reports, with the commands a reader can rerun:
//   1. the default `npm run conformance` (wall time, peak RSS), under /usr/bin/time -v;
//   2. a 1 GiB upload by the reference uploader (`npm run upload`) to the simulated server running in
//      another process (`npm run server`): wall time, throughput, peak RSS of the uploader and the server.
// Prints figures; asserts nothing. Usage: npm run bench [-- --size-mib 1024 --skip-conformance]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSeededFile } from '../src/kit/source-file.ts';
import { integerOption, parseCommandLine } from '../src/cli/args.ts';

const NODE = [process.execPath, '--no-warnings', '--import', './src/register.mjs'];
const TIME = '/usr/bin/time';

interface Measured {
  wallSeconds: number;
  maxRssMiB: number;
  exitCode: number | null;
  stdout: string;
}

/** Runs a command under GNU time -v and reads its wall time and peak resident set size. */
async function timed(args: string[]): Promise<Measured> {
  const child = spawn(TIME, ['-v', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
  if (!rss || !wall) throw new Error(`could not read /usr/bin/time -v output:\n${stderr}`);
  const wallSeconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { wallSeconds, maxRssMiB: Number(rss) / 1024, exitCode, stdout };
}

/** Peak RSS of a running process, from the kernel's high-water mark. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kib) / 1024;
}

async function benchConformance(): Promise<void> {
  const reports = await mkdtemp(join(tmpdir(), 'bench-reports-'));
  const result = await timed([...NODE, 'src/cli/conformance.ts', '--report-dir', reports]);
  await rm(reports, { recursive: true, force: true });
  console.log(`default conformance run: ${result.wallSeconds.toFixed(1)} s wall, peak RSS ${result.maxRssMiB.toFixed(0)} MiB, exit ${result.exitCode}`);
}

async function benchUpload(sizeMiB: number): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-upload-'));
  try {
    const file = join(work, 'source.bin');
    const { sha1 } = await writeSeededFile(file, sizeMiB * 1024 * 1024, 'bench');
    const server = spawn(
      process.execPath,
      [...NODE.slice(1), 'src/cli/server.ts', '--token', 'bench', '--min-file-size', '1', '--storage-dir', join(work, 'store')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const lines = createInterface({ input: server.stdout });
      const baseUrl = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        server.once('exit', () => reject(new Error('the server exited before it listened')));
      });
      const upload = await timed([...NODE, 'src/cli/upload.ts', file, '--base-url', baseUrl, '--token', 'bench', '--quiet']);
      if (upload.exitCode !== 0) throw new Error(`the upload failed (exit ${upload.exitCode})`);
      const serverRss = server.pid ? await peakRssMiB(server.pid) : NaN;
      // The bytes the server serves back, hashed here: not the server's own claim.
      const { id } = JSON.parse(upload.stdout) as { id: string };
      const content = await fetch(`${baseUrl}/files/${id}/content`, { headers: { authorization: 'Bearer bench' } });
      const hash = createHash('sha1');
      for await (const chunk of content.body ?? []) hash.update(chunk);
      const stored = hash.digest('hex');
      console.log(
        `upload of ${sizeMiB} MiB (8 MiB parts, 4 in flight): ${upload.wallSeconds.toFixed(1)} s wall, ` +
          `${(sizeMiB / upload.wallSeconds).toFixed(0)} MiB/s, uploader peak RSS ${upload.maxRssMiB.toFixed(0)} MiB, ` +
          `server peak RSS ${serverRss.toFixed(0)} MiB, stored file ${stored === sha1 ? 'identical to the source' : `DIFFERS (${stored || 'missing'})`}`,
      );
    } finally {
      server.kill('SIGTERM');
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const { values } = parseCommandLine('bench', { 'size-mib': { type: 'string' }, 'skip-conformance': { type: 'boolean' } });
console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
if (!values['skip-conformance']) await benchConformance();
await benchUpload(integerOption('bench', 'size-mib', values['size-mib'], 1024, 1));
