import { startSimulatedServer } from '../server/app.ts';
import { integerOption, parseCommandLine, usageError } from './args.ts';

const USAGE = `Usage: npm run server -- [options]

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
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = integerOption(COMMAND, 'port', values.port, 0, 0);
  if (port > 65535) usageError(COMMAND, `--port takes 0 to 65535, got "${values.port}"`);
  if (values.token !== undefined && values.token.trim() === '') usageError(COMMAND, '--token needs a value');
  const server = await startSimulatedServer({
    port,
    token: values.token,
    partSize: integerOption(COMMAND, 'part-size', values['part-size'], 8 * 1024 * 1024, 1),
    minFileSize: integerOption(COMMAND, 'min-file-size', values['min-file-size'], 20_000_000, 1),
    storageDir: values['storage-dir'],
    sparseParts: values['sparse-parts'] ?? false,
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
