// npm run bench: the reference uploader measured end to end, and against its peers, in one table.
//
// Every upload is a real one: `npm run server` in its own process (fresh, with its own storage, Box's
// default 8 MiB parts), the client in another, reading a generated file from disk; the bench then
// hashes the bytes the server serves back and compares them with the source. Each figure is the
// median of the runs with min and max; a ratio is measured in pairs run back to back (their order
// alternating from round to round), so that load on the machine weighs on both sides alike.
//
//   npm run bench                  # 5 rounds: 256 MiB and 1 GiB, peers at 256 MiB, bare and with 50 ms per part
//   npm run bench -- --big         # also 4 GiB (about 10 s an upload more, and 8 GiB of disk)
//   npm run bench -- --runs 3 --skip-peers
import { cpus } from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { environmentFor } from '../src/adapters/command.ts';
import { integerOption, parseCommandLine } from '../src/cli/args.ts';
import { KNOWN_CLIENTS } from '../src/cli/known-clients.ts';
import { KIT_ROOT } from '../src/kit/conformance.ts';
import { writeSeededFile } from '../src/kit/source-file.ts';
import { npmScript, runMeasured, startServer } from './processes.ts';
import { formatSpread, markdownTable, spreadOf } from './table.ts';

const USAGE = `Usage: npm run bench -- [options]

Uploads generated files through real processes (npm run upload, npm run server) and prints one table:
wall time, throughput, peak RSS of uploader and server, commit time, whether the bytes served back equal
the source, and the reference uploader's time against box-node-sdk 10.x, box-node-sdk 3.x and the
guide's bash recipe, on bare loopback and with 50 ms of server latency per part.

  --runs <n>             rounds; every figure is the median of its runs, with min and max (default 5:
                         the median of three pairs moved with one slow run)
  --size-mib <n>         the large file (default 1024)
  --peer-size-mib <n>    the file for the side-by-side with the other clients (default 256)
  --big                  also upload a 4 GiB file (reference uploader only)
  --skip-peers           the reference uploader only
  --help                 this text`;

const COMMAND = 'bench';
const TOKEN = 'bench-token';
const MiB = 1024 * 1024;
const LATENCY_MS = 50;

const { values } = parseCommandLine(COMMAND, {
  runs: { type: 'string' },
  'size-mib': { type: 'string' },
  'peer-size-mib': { type: 'string' },
  big: { type: 'boolean' },
  'skip-peers': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const runs = integerOption(COMMAND, 'runs', values.runs, 5, 1);
const largeMiB = integerOption(COMMAND, 'size-mib', values['size-mib'], 1024, 1);
const peerMiB = integerOption(COMMAND, 'peer-size-mib', values['peer-size-mib'], 256, 1);

interface Source {
  path: string;
  size: number;
  sha1: string;
}

/** Who uploads: the argv of one upload of `file` to `baseUrl`. */
interface Contender {
  label: string;
  argv(file: Source, baseUrl: string, fileName: string): string[];
  env(file: Source, baseUrl: string, fileName: string): Record<string, string>;
}

interface Sample {
  ok: boolean;
  wallSeconds: number;
  clientRss: number;
  serverRss: number;
  commitMs?: number;
  identical: boolean;
  failure?: string;
}

/** One row of the table: a contender, a file and a server condition, and its runs. */
interface Row {
  label: string;
  size: number;
  latencyMs: number;
  samples: Sample[];
  /** This row's wall time over its pair's, run by run (for rows measured in pairs). */
  ratios: number[];
  ratioAgainst?: string;
}

const uploadArgv = await npmScript('upload');
const reference = (holdParts: boolean): Contender => ({
  label: holdParts ? 'reference uploader --hold-parts' : 'reference uploader',
  argv: (file, baseUrl, fileName) => [
    ...uploadArgv,
    file.path,
    '--base-url',
    baseUrl,
    '--token',
    TOKEN,
    '--name',
    fileName,
    '--folder',
    '0',
    '--quiet',
    ...(holdParts ? ['--hold-parts'] : []),
  ],
  env: () => ({}),
});

async function versionOf(module: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(KIT_ROOT, 'node_modules', module, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

const PEER_IDS = ['box-node-sdk', 'box-node-sdk-legacy', 'guide-recipe'];
const peers: Contender[] = [];
for (const id of values['skip-peers'] ? [] : PEER_IDS) {
  const known = KNOWN_CLIENTS.find((client) => client.id === id);
  if (!known) throw new Error(`no known client ${id}`);
  const label = known.package ? `${known.package.name} ${await versionOf(known.package.module)}` : "the guide's recipe (bash, curl, openssl)";
  peers.push({
    label,
    argv: () => ['/bin/sh', '-c', known.command],
    env: (file, baseUrl, fileName) => environmentFor({ baseUrl, token: TOKEN, file: file.path, fileName, folderId: '0', timeoutMs: 0 }),
  });
}

let uploads = 0;
/** One upload by `contender` of `file` to a fresh server, checked by hashing what the server serves back. */
async function upload(contender: Contender, file: Source, latencyMs: number): Promise<Sample> {
  const server = await startServer(TOKEN, latencyMs);
  const fileName = `bench-${++uploads}.bin`;
  try {
    const run = await runMeasured(contender.argv(file, server.baseUrl, fileName), contender.env(file, server.baseUrl, fileName));
    const serverRss = await server.peakRss();
    const committed = await server.committed();
    const served = committed ? await server.contentSha1(committed.fileId) : 'no file';
    const ok = run.exitCode === 0 && committed !== undefined;
    const failure = ok ? undefined : `exit ${run.exitCode}: ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`;
    if (failure) process.stderr.write(`  ${contender.label}, ${file.size / MiB} MiB: FAILED (${failure})\n`);
    return { ok, wallSeconds: run.wallSeconds, clientRss: run.peakRss, serverRss, commitMs: committed?.commitMs, identical: served === file.sha1, failure };
  } finally {
    await server.stop();
  }
}

const rows = new Map<string, Row>();
function rowFor(contender: Contender, file: Source, latencyMs: number, ratioAgainst?: string): Row {
  const key = `${contender.label}|${file.size}|${latencyMs}`;
  let row = rows.get(key);
  if (!row) {
    row = { label: contender.label, size: file.size, latencyMs, samples: [], ratios: [], ratioAgainst };
    rows.set(key, row);
  }
  return row;
}

/** `first` and `second` back to back, in an order that alternates with `round`; records `second`'s time over `first`'s. */
async function pair(round: number, first: Contender, second: Contender, file: Source, latencyMs: number): Promise<void> {
  const order = round % 2 === 0 ? [first, second] : [second, first];
  const samples = new Map<Contender, Sample>();
  for (const contender of order) {
    process.stderr.write(`round ${round + 1}/${runs}: ${contender.label}, ${file.size / MiB} MiB${latencyMs ? `, ${latencyMs} ms per part` : ''}\n`);
    samples.set(contender, await upload(contender, file, latencyMs));
  }
  const a = samples.get(first) as Sample;
  const b = samples.get(second) as Sample;
  rowFor(first, file, latencyMs).samples.push(a);
  const row = rowFor(second, file, latencyMs, first.label);
  row.samples.push(b);
  if (a.ok && b.ok) row.ratios.push(b.wallSeconds / a.wallSeconds);
}

const work = await mkdtemp(join(tmpdir(), 'bench-'));
try {
  const sizes = [...new Set([peerMiB, largeMiB, ...(values.big ? [4096] : [])])];
  const sources = new Map<number, Source>();
  for (const mib of sizes) {
    process.stderr.write(`generating a ${mib} MiB source file…\n`);
    const path = join(work, `source-${mib}.bin`);
    const { sha1 } = await writeSeededFile(path, mib * MiB, `bench-${mib}`);
    sources.set(mib, { path, size: mib * MiB, sha1 });
  }
  const peerFile = sources.get(peerMiB) as Source;
  const largeFile = sources.get(largeMiB) as Source;
  const plain = reference(false);
  const held = reference(true);
  // Not measured: brings the source into the page cache and the machine's memory into use.
  await upload(plain, peerFile, 0);

  for (let round = 0; round < runs; round++) {
    await pair(round, plain, held, largeFile, 0);
    for (const latencyMs of [0, LATENCY_MS]) for (const peer of peers) await pair(round, plain, peer, peerFile, latencyMs);
    if (peers.length === 0 && peerFile !== largeFile) {
      process.stderr.write(`round ${round + 1}/${runs}: ${plain.label}, ${peerMiB} MiB\n`);
      rowFor(plain, peerFile, 0).samples.push(await upload(plain, peerFile, 0));
    }
    if (values.big) {
      const big = sources.get(4096) as Source;
      process.stderr.write(`round ${round + 1}/${runs}: ${plain.label}, 4096 MiB\n`);
      rowFor(plain, big, 0).samples.push(await upload(plain, big, 0));
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const sizeLabel = (size: number) => (size >= 1024 * MiB ? `${size / (1024 * MiB)} GiB` : `${size / MiB} MiB`);
// Bare loopback first; in each, the reference uploader by size, then --hold-parts, then the peers as run.
const rank = (row: Row) => (row.label === 'reference uploader' ? 0 : row.label.startsWith('reference uploader') ? 1 : 2);
const ordered = [...rows.values()].sort((a, b) => a.latencyMs - b.latencyMs || rank(a) - rank(b) || (rank(a) < 2 ? a.size - b.size : 0));
const table = markdownTable(
  [
    'client',
    'file',
    'server',
    'wall time, s',
    'throughput, GB/s',
    'time vs reference',
    'client peak RSS, MB',
    'server peak RSS, MB',
    'commit, ms',
    'served back',
  ],
  ordered.map((row) => {
    const good = row.samples.filter((sample) => sample.ok);
    const failed = row.samples.length - good.length;
    const identical = row.samples.filter((sample) => sample.identical).length;
    return [
      row.label,
      sizeLabel(row.size),
      row.latencyMs ? `+${row.latencyMs} ms per part` : 'loopback',
      formatSpread(spreadOf(good.map((sample) => sample.wallSeconds)), 2) + (failed ? `, ${failed} of ${row.samples.length} FAILED` : ''),
      formatSpread(spreadOf(good.map((sample) => row.size / sample.wallSeconds / 1e9)), 2),
      row.ratioAgainst ? formatSpread(spreadOf(row.ratios), 2, '×') : '',
      formatSpread(spreadOf(good.map((sample) => sample.clientRss / 1e6)), 0),
      formatSpread(spreadOf(good.map((sample) => sample.serverRss / 1e6)), 0),
      formatSpread(spreadOf(good.flatMap((sample) => (sample.commitMs === undefined ? [] : [sample.commitMs]))), 0),
      identical === row.samples.length ? `identical, ${identical} of ${identical}` : `DIFFERENT in ${row.samples.length - identical} of ${row.samples.length}`,
    ];
  }),
);

const cpu = cpus();
process.stdout.write(
  `node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}; ${runs} round(s); part size 8 MiB (the server's default); ` +
    `"time vs reference": that client's wall time over the reference uploader's in the same pair (${sizeLabel(largeMiB * MiB)} --hold-parts: over the default's)\n\n${table}\n`,
);
if (ordered.some((row) => row.samples.some((sample) => !sample.ok || !sample.identical))) process.exitCode = 1;
