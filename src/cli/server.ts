import { setFlagsFromString } from 'node:v8';
import { SERVER_LIMITS, type SimulatedServerOptions, startSimulatedServer } from '../server/app.ts';
import { writeSeededFile, writeSparseFile } from '../kit/source-file.ts';
import { integerOption, invocation, parseCommandLine, usageError } from './args.ts';

// V8 sizes the heap by how fast it is allocated into: under the soak's 1,800 to 2,300 requests a second
// it grew to about 100 MB (half of it garbage between collections), and the server's peak RSS to 169 to
// 217 MiB in seven runs, over the soak's 200 MiB budget in three. Sized for memory, the heap keeps the
// peak at 129 to 137 MiB (three runs) at the same request rate, and uploads take as long as before
// (1 GiB: 2.70 to 2.86 s against 2.70 to 3.07 s, four alternating pairs).
setFlagsFromString('--optimize-for-size');

type Budget = 'sessionTtlMs' | 'fileTtlMs' | 'maxSessions' | 'maxParts' | 'maxFiles' | 'trafficBudgetBytes' | 'maxUrlBytes' | 'maxHeaderBytes';

/** The budgets of SERVER_LIMITS as options; TTLs are given in seconds. */
const BUDGETS: { flag: string; key: Budget; seconds?: true; what: string }[] = [
  { flag: 'session-ttl', key: 'sessionTtlMs', seconds: true, what: 'seconds an upload session lives, then 410 session_expired' },
  { flag: 'max-sessions', key: 'maxSessions', what: 'open sessions at once; one more is 429 + Retry-After' },
  { flag: 'max-parts', key: 'maxParts', what: 'parts stored across open sessions; one more is 507' },
  { flag: 'max-files', key: 'maxFiles', what: 'committed files kept; past it the oldest is forgotten' },
  { flag: 'file-ttl', key: 'fileTtlMs', seconds: true, what: 'seconds a committed file is kept' },
  { flag: 'traffic-budget', key: 'trafficBudgetBytes', what: 'bytes the traffic record may hold; past it the oldest go' },
  { flag: 'max-url-bytes', key: 'maxUrlBytes', what: 'longest request target; longer is 414' },
  { flag: 'max-header-bytes', key: 'maxHeaderBytes', what: 'largest request head; larger is 431' },
];

const defaultOf = (budget: (typeof BUDGETS)[number]) => (budget.seconds ? SERVER_LIMITS[budget.key] / 1000 : SERVER_LIMITS[budget.key]);

const USAGE = `Usage: ${invocation('server')} [options]

Runs the simulated Box upload server on 127.0.0.1 until interrupted, with its fault control API, so that
a client test suite in any language can use it. Prints the API base URL on the first line.

  --port <n>             port to listen on (default 0: any free port)
  --token <t>            accept only this bearer token (default: any non-empty bearer token)
  --part-size <bytes>    part_size handed out in every session (default 8388608)
  --min-file-size <n>    smallest file a session accepts (default 20000000, as Box; 1 to allow any)
  --storage-dir <dir>    where parts and committed files go (default: a temporary directory)
  --sparse-parts         write part files sparse: runs of zeros are not stored, so a part of zeros
                         costs only its size and SHA-1 (for multi-GiB uploads from sparse files)
  --help                 this text

Making a test file (then exits; prints the file's SHA-1), as a failed rule's reproduction says:
  --make-file <path> --size <bytes> --seed <seed> [--sparse]
                         writes the kit's seeded bytes for that seed (AES-128-CTR keystream, see
                         src/protocol/seeded-bytes.ts), the same file the kit uploaded; --sparse: the
                         kit's sparse file (seeded bytes at its start, end, 2 GiB and 4 GiB, holes elsewhere)

Budgets (they keep memory flat however long the server runs; see README):
${BUDGETS.map((budget) => `  --${`${budget.flag} <n>`.padEnd(21)}${budget.what} (default ${defaultOf(budget)})`).join('\n')}

Control API (see README): GET/PUT/DELETE /_control/faults, GET/DELETE /_control/traffic,
GET /_control/files/{id}.`;

const COMMAND = 'server';

async function main(): Promise<void> {
  const { values } = parseCommandLine(COMMAND, {
    port: { type: 'string' },
    token: { type: 'string' },
    'part-size': { type: 'string' },
    'min-file-size': { type: 'string' },
    'storage-dir': { type: 'string' },
    'sparse-parts': { type: 'boolean' },
    'make-file': { type: 'string' },
    size: { type: 'string' },
    seed: { type: 'string' },
    sparse: { type: 'boolean' },
    ...Object.fromEntries(BUDGETS.map((budget) => [budget.flag, { type: 'string' as const }])),
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values['make-file'] !== undefined) {
    if (values.seed === undefined || values.size === undefined) usageError(COMMAND, '--make-file needs --size and --seed');
    const size = integerOption(COMMAND, 'size', values.size, 0, 1);
    const { sha1 } = await (values.sparse ? writeSparseFile : writeSeededFile)(values['make-file'], size, values.seed);
    process.stdout.write(`${sha1}\n`);
    return;
  }
  for (const option of ['size', 'seed', 'sparse'] as const) if (values[option] !== undefined) usageError(COMMAND, `--${option} goes with --make-file`);
  const port = integerOption(COMMAND, 'port', values.port, 0, 0);
  if (port > 65535) usageError(COMMAND, `--port takes 0 to 65535, got "${values.port}"`);
  if (values.token !== undefined && values.token.trim() === '') usageError(COMMAND, '--token needs a value');
  const budgets: SimulatedServerOptions = {};
  for (const budget of BUDGETS) {
    const raw = (values as Record<string, string | boolean | undefined>)[budget.flag];
    const value = integerOption(COMMAND, budget.flag, typeof raw === 'string' ? raw : undefined, defaultOf(budget), 1);
    budgets[budget.key] = budget.seconds ? value * 1000 : value;
  }
  const server = await startSimulatedServer({
    port,
    token: values.token,
    partSize: integerOption(COMMAND, 'part-size', values['part-size'], 8 * 1024 * 1024, 1),
    minFileSize: integerOption(COMMAND, 'min-file-size', values['min-file-size'], 20_000_000, 1),
    storageDir: values['storage-dir'],
    sparseParts: values['sparse-parts'] ?? false,
    ...budgets,
  });
  process.stdout.write(`${server.baseUrl}\n`);
  process.stderr.write(
    `simulated Box upload server: API ${server.baseUrl}, control ${server.origin}/_control, part_size ${server.partSize}. Ctrl-C stops it.\n`,
  );
  const stop = () => {
    server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const busy = (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
  const message = busy
    ? `port ${(error as { port?: number }).port} is already in use; pick another with --port (0 for any free port)`
    : error instanceof Error
      ? error.message
      : String(error);
  process.stderr.write(`server: could not start: ${message}\n`);
  process.exitCode = 2;
});
