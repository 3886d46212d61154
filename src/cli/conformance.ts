import { runConformance } from '../kit/conformance.ts';
import { parseCommandLine, usageError as usage } from './args.ts';

const USAGE = `Usage: npm run conformance -- [options]

Grades a chunked-upload client against the client rules, on an embedded simulated Box upload server.
With no --client, grades the kit's own reference uploader.

  --client "<command>"    shell command that uploads one file (env: UPLOAD_BASE_URL, UPLOAD_TOKEN,
                          UPLOAD_FILE, UPLOAD_FILE_NAME, UPLOAD_FOLDER_ID; or {baseUrl} {token} {file}
                          {fileName} {folderId} in the command)
  --report-dir <dir>      where reports go (default reports/)
  --tags <expression>     Cucumber tag expression, e.g. "@MUST and not @C-PARALLEL-MIN"
  --strict                SHOULD failures fail the run too
  --timeout <seconds>     per client run (default 60)
  --help                  this text

Exit codes: 0 no gating rule failed; 1 a MUST rule (or with --strict, any rule) failed; 2 usage error or
the kit could not run.`;

const usageError = (message: string): never => usage('conformance', message);

async function main(): Promise<void> {
  const { values } = parseCommandLine('conformance', {
    client: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    folder: { type: 'string' },
    record: { type: 'string' },
    replay: { type: 'string' },
    'report-dir': { type: 'string' },
    tags: { type: 'string' },
    strict: { type: 'boolean' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  for (const option of ['server', 'record', 'replay'] as const) {
    if (values[option] !== undefined) usageError(`--${option} is not available in this version of the kit yet`);
  }
  const timeout = Number(values.timeout ?? '60');
  if (!Number.isFinite(timeout) || timeout <= 0) usageError(`--timeout takes a number of seconds, got "${values.timeout}"`);
  if (values.client !== undefined && values.client.trim() === '') usageError('--client needs a command');
  const outcome = await runConformance({
    clientCommand: values.client,
    reportDir: values['report-dir'] ?? 'reports',
    tags: values.tags,
    strict: values.strict ?? false,
    timeoutMs: timeout * 1000,
    print: (line) => process.stdout.write(`${line}\n`),
  });
  if (outcome.kitError) process.stderr.write(`conformance: the kit could not run: ${outcome.kitError}\n`);
  process.exitCode = outcome.exitCode;
}

main().catch((error: unknown) => {
  process.stderr.write(`conformance: the kit could not run: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
