import { namespaceUnavailable } from '../intercept/namespace.ts';
import { type RemoteServer, runConformance } from '../kit/conformance.ts';
import { readFile } from 'node:fs/promises';
import { parseExpectedFailures } from '../grader/results.ts';
import { ruleById } from '../protocol/rules.ts';
import { integerOption, invocation, parseCommandLine, usageError as usage } from './args.ts';

const USAGE = `Usage: ${invocation('conformance')} [options]

With no option, grades the kit's reference uploader against the client rules and the embedded simulated
Box upload server against the server rules (both in one report).

  --client "<command>"    shell command that uploads one file (env: UPLOAD_BASE_URL, UPLOAD_TOKEN,
                          UPLOAD_FILE, UPLOAD_FILE_NAME, UPLOAD_FOLDER_ID; or {baseUrl} {token} {file}
                          {fileName} {folderId} in the command)
                          Grades the client side only.
  --intercept             with --client: run the client as it ships, calling Box's own hosts. The kit
                          answers upload.box.com and api.box.com with the simulated server, over TLS with
                          a CA made for the run (SSL_CERT_FILE, CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE,
                          NODE_EXTRA_CA_CERTS, or {caFile} in the command). On Linux the client runs in a
                          network namespace of its own where those hosts are 127.0.0.1 and nothing else
                          is reachable; elsewhere through a proxy in HTTPS_PROXY (and HTTP_PROXY,
                          lowercase twins, NO_PROXY cleared) that refuses any other host
  --intercept-via <how>   namespace or proxy: how --intercept brings the client to the kit (implies
                          --intercept; default: namespace where the kit can make one)
  --part-size <bytes>     part_size the simulated server hands out in client runs (default 1048576; 1024
                          to 134217728); every scenario's file is so many parts of it
  --server <base-url>     grade a server instead, e.g. https://upload.box.com/api/2.0 (server side only)
  --token <token>         bearer token for --server (or the BOX_TOKEN environment variable); never
                          printed, logged or written
  --folder <id>           folder the kit creates its files in (default 0); it deletes them afterwards
  --api-base-url <url>    where the kit deletes its files (default: https://api.box.com/2.0 when --server
                          is Box's upload host, the --server URL otherwise)
  --record <dir>          with --server: record every exchange, secrets scrubbed, into <dir>
  --replay <dir>          grade the server side again from a recording, offline
  --report-dir <dir>      where reports go (default reports/)
  --tags <expression>     Cucumber tag expression, e.g. "@MUST and not @C-PARALLEL-MIN"
  --strict                SHOULD failures fail the run too
  --expect-failures <file>
                          rule ids (one per line, # comments) the implementation knowingly fails: their
                          failures are reported as known deviations and do not gate; a listed rule that
                          passes fails the run, so the list never goes stale
  --timeout <seconds>     per client run (default 60), once per started GiB for files over 1 GiB; for a
                          server, per answer, its 429 and 202 Retry-After waits included (default 60)
  --server-depth <depth>  how widely a server's probe spaces are covered: default, or wide (every case of
                          every space, and 60 generated sequences of calls instead of 6)
  --server-seed <n>       fast-check seed of the generated sequences of calls, to replay a reported one
  --generated             also run the @generated scenarios: fast-check draws file sizes around part
                          boundaries and fault schedules, one client run per case, and checks every
                          MUST rule; a failure is shrunk to the smallest case, with its seed
  --runs <n>              how many generated cases (default 10; implies --generated)
  --seed <n>              fast-check seed, to replay a reported failure (implies --generated)
  --large                 also run the @slow scenarios: a file a little over 4 GiB (sparse, so the disk
                          holds little) and exact multiples of Box's 8 and 32 MiB parts; generated cases
                          then also draw files at those part sizes. Left out by default, like @generated;
                          a --tags expression naming @slow brings them in too
  --help                  this text

Exit codes: 0 no gating rule failed; 1 a MUST rule (or with --strict, any rule) failed; 2 usage error or
the kit could not run.`;

function usageError(message: string): never {
  return usage('conformance', message);
}

/** The default keeps runs quick; the smallest keeps the scenarios' 1000-byte file under one part. */
const DEFAULT_PART_SIZE = 1024 * 1024;
const MIN_PART_SIZE = 1024;
/** A 12-part scenario is a 1.5 GiB file at this size; Box's largest observed part_size is 32 MiB. */
const MAX_PART_SIZE = 128 * 1024 * 1024;

const BOX_UPLOAD_HOST = 'upload.box.com';
const BOX_API_BASE = 'https://api.box.com/2.0';

/** The --server options as a target; the token may come from BOX_TOKEN. */
function serverOption(values: { server?: string; token?: string; folder?: string; 'api-base-url'?: string; record?: string }): RemoteServer | undefined {
  if (values.server === undefined) {
    for (const option of ['token', 'folder', 'api-base-url'] as const) if (values[option] !== undefined) usageError(`--${option} goes with --server`);
    return undefined;
  }
  const baseUrl = values.server.replace(/\/+$/, '');
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol))
    usageError(`--server takes the API base URL, e.g. https://upload.box.com/api/2.0, got "${values.server}"`);
  const token = values.token ?? process.env.BOX_TOKEN;
  if (!token) usageError('--server needs a token: --token <token> or the BOX_TOKEN environment variable');
  const apiBaseUrl = (values['api-base-url'] ?? (new URL(baseUrl).hostname === BOX_UPLOAD_HOST ? BOX_API_BASE : baseUrl)).replace(/\/+$/, '');
  if (!URL.canParse(apiBaseUrl)) usageError(`--api-base-url takes a URL, got "${values['api-base-url']}"`);
  return { baseUrl, token, folderId: values.folder ?? '0', apiBaseUrl, record: values.record };
}

async function expectedFailuresFrom(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    usageError(`--expect-failures: cannot read "${path}"`);
  }
  const ids = parseExpectedFailures(text);
  const unknown = ids.filter((id) => !ruleById(id));
  if (unknown.length > 0) usageError(`--expect-failures: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a rule id' : 'are not rule ids'}`);
  return ids;
}

async function main(): Promise<void> {
  const { values } = parseCommandLine('conformance', {
    client: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    folder: { type: 'string' },
    'api-base-url': { type: 'string' },
    record: { type: 'string' },
    replay: { type: 'string' },
    'report-dir': { type: 'string' },
    tags: { type: 'string' },
    strict: { type: 'boolean' },
    'expect-failures': { type: 'string' },
    generated: { type: 'boolean' },
    runs: { type: 'string' },
    seed: { type: 'string' },
    large: { type: 'boolean' },
    timeout: { type: 'string' },
    intercept: { type: 'boolean' },
    'intercept-via': { type: 'string' },
    'part-size': { type: 'string' },
    'server-depth': { type: 'string' },
    'server-seed': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const server = serverOption(values);
  if (values.client !== undefined && (server || values.replay !== undefined))
    usageError('--client grades a client, --server and --replay a server: give one of them');
  if (server && values.replay !== undefined) usageError('--replay grades a recording offline: leave out --server');
  if ((values.generated || values.runs !== undefined || values.seed !== undefined) && (server || values.replay !== undefined))
    usageError('generated cases grade a client: leave out --server and --replay');
  if (values.large && (server || values.replay !== undefined)) usageError('--large adds client scenarios: leave out --server and --replay');
  if (values.record !== undefined && !server) usageError('--record needs --server: it records a live run');
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) usageError(`--timeout takes a number of seconds, got "${values.timeout}"`);
  if (values.client !== undefined && values.client.trim() === '') usageError('--client needs a command');
  const interceptVia = values['intercept-via'];
  if (interceptVia !== undefined && interceptVia !== 'namespace' && interceptVia !== 'proxy')
    usageError(`--intercept-via takes namespace or proxy, got "${interceptVia}"`);
  const intercept = values.intercept || interceptVia !== undefined;
  if (intercept && values.client === undefined) usageError('--intercept runs a --client command as it ships: give --client "<command>"');
  const unavailable = intercept && interceptVia !== 'proxy' ? namespaceUnavailable() : undefined;
  if (interceptVia === 'namespace' && unavailable)
    usageError(`--intercept-via namespace: the kit cannot make the client a network namespace here (${unavailable}); use --intercept-via proxy`);
  if (values['part-size'] !== undefined && (server || values.replay !== undefined))
    usageError('--part-size sets the part size of client runs: leave out --server and --replay');
  const serverDepth = values['server-depth'];
  if (serverDepth !== undefined && serverDepth !== 'default' && serverDepth !== 'wide')
    usageError(`--server-depth takes default or wide, got "${serverDepth}"`);
  if ((serverDepth !== undefined || values['server-seed'] !== undefined) && values.client !== undefined)
    usageError('--server-depth and --server-seed widen the server probe: leave out --client');
  const partSize =
    values['part-size'] === undefined ? undefined : integerOption('conformance', 'part-size', values['part-size'], DEFAULT_PART_SIZE, MIN_PART_SIZE);
  if (partSize !== undefined && partSize > MAX_PART_SIZE)
    usageError(`--part-size takes ${MIN_PART_SIZE} to ${MAX_PART_SIZE} bytes (128 MiB), got "${values['part-size']}"`);
  const outcome = await runConformance({
    clientCommand: values.client,
    server,
    replay: values.replay,
    reportDir: values['report-dir'] ?? 'reports',
    tags: values.tags,
    strict: values.strict ?? false,
    generated:
      values.generated || values.runs !== undefined || values.seed !== undefined
        ? {
            runs: integerOption('conformance', 'runs', values.runs, 10, 1),
            seed: values.seed === undefined ? undefined : integerOption('conformance', 'seed', values.seed, 0, -(2 ** 31)),
          }
        : undefined,
    large: values.large ?? false,
    expectedFailures: values['expect-failures'] === undefined ? undefined : await expectedFailuresFrom(values['expect-failures']),
    timeoutMs: (timeout ?? 60) * 1000,
    answerTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
    intercept: intercept ? (interceptVia ?? (unavailable ? 'proxy' : 'namespace')) : undefined,
    partSize,
    serverDepth,
    serverSeed: values['server-seed'] === undefined ? undefined : integerOption('conformance', 'server-seed', values['server-seed'], 0, -(2 ** 31)),
    print: (line) => process.stdout.write(`${line}\n`),
  });
  if (outcome.kitError) process.stderr.write(`conformance: the kit could not run: ${outcome.kitError}\n`);
  process.exitCode = outcome.exitCode;
}

main().catch((error: unknown) => {
  process.stderr.write(`conformance: the kit could not run: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
