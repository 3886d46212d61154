/**
 * Reproductions: for each failed rule, what a team needs to rebuild the failure outside the kit, in its own
 * test suite. For a client rule, the situation the kit put the client in (the standalone simulated server's
 * part size and fault plan, the file and how its bytes are made, the client command) as data and as shell
 * commands; for a server rule, the requests as `curl` lines with a `$TOKEN` placeholder and what was
 * expected of each answer; for both, the kit command that reruns only the scenarios that show the rule.
 * Pure: the grader's data in, data out; the reports format it.
 */
import type { FaultInstruction } from '../server/faults.ts';
import type { ClientRunAttachment, ServerExchangeAttachment, TimelineExchange } from './attachments.ts';
import type { Finding } from './findings.ts';
import type { RuleResult, ScenarioResult } from './results.ts';

/** One request of a server reproduction, as the probe sent it: what `serverReproduction` formats. */
export interface ServerReproductionRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  /** As sent, secrets already scrubbed; an Authorization header becomes `Bearer $TOKEN` whatever its value, unless `credentials` is 'wrong' or 'none'. */
  headers: Record<string, string>;
  body: { kind: 'json'; text: string } | { kind: 'bytes'; length: number; sha1: string; how: string } | { kind: 'none' };
  /** What the model expected of the answer, in words. */
  expected: string;
  /** What the server answered, in words (status, code). */
  answered: string;
  /** Which credentials the request carried; 'token' when absent. A wrong token is the kit's own invention, kept as sent. */
  credentials?: 'token' | 'wrong' | 'none';
  /** The upload session the request is about (a create: the session it opened): a reproduction keeps the finding's session only. */
  session?: string;
}

export interface ServerReproductionStep {
  curl: string;
  expected: string;
  answered: string;
}

/** What a failed rule's reproduction holds (conformance.json's `reproduction`). */
export interface Reproduction {
  side: 'client' | 'server';
  /** Where the failure was seen: a client run id, or the server scenario. */
  run: string;
  /** The finding reproduced: what broke the rule. */
  finding: string;
  /** The kit command that reruns only the scenarios that show the rule (a token only as "$TOKEN"). */
  rerun: string;
  /** Client rules: the situation the client was put in, as data. */
  situation?: ClientSituation;
  /** Client rules: shell commands that rebuild the situation with the standalone server and run the client. */
  commands?: string[];
  /** Server rules: the requests in order, as curl lines, each with what was expected and what came back. */
  steps?: ServerReproductionStep[];
  /** What the kit saw: the request/answer lines that broke the rule. */
  observed: string[];
}

export interface ClientSituation {
  fileSize: number;
  partSize: number;
  /** The file's bytes: seeded bytes from `seed` (protocol/seeded-bytes.ts), throughout or `sparse`; their SHA-1. */
  file: { seed: string; sparse: boolean; sha1: string };
  /** The body of `PUT /_control/faults`'s `instructions`. */
  faults: FaultInstruction[];
  /** The server wrote parts sparse (`--sparse-parts`). */
  sparseParts: boolean;
  /** The client command as graded, placeholders and all. */
  client: string;
}

/** How this kit run was started: what a rerun and the commands repeat. */
export interface ReproductionContext {
  /** `npx box-upload-` commands (an installed kit) or `npm run` scripts (a clone). */
  installed: boolean;
  /** bin/box-upload-server.mjs, relative to the directory the kit ran in. */
  serverScript: string;
  /** The --client command; absent: the reference uploader. */
  clientCommand?: string;
  /** The server side graded: a remote server, a recording, or the embedded simulated server. */
  server: { kind: 'remote'; baseUrl: string; folderId: string; apiBaseUrl?: string } | { kind: 'replay'; dir: string } | { kind: 'embedded' };
  partSize?: number;
  /** --intercept, and how the client was brought to the kit. */
  intercept?: 'namespace' | 'proxy';
  /** Tokens of this run: never in a reproduction, replaced by $TOKEN wherever they appear. */
  secrets: readonly string[];
}

/** Scenario attachment the server steps may add: every request of a scenario, by probe exchange index. */
export const SERVER_REPRODUCTION_MEDIA_TYPE = 'application/vnd.box-conformance.server-reproduction+json';
export interface ServerReproductionAttachment {
  /** The scenario, as findings name it. */
  run: string;
  requests: (ServerReproductionRequest & { index: number })[];
}

/** A word for the shell, single-quoted unless it needs no quotes. */
export function shellQuote(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const scrub = (text: string, secrets: readonly string[]) =>
  secrets.filter((secret) => secret.length >= 4).reduce((out, secret) => out.split(secret).join('$TOKEN'), text);

/** The kit's own commands, as the user started the kit. */
export function kitCommand(context: Pick<ReproductionContext, 'installed'>, name: 'conformance' | 'server' | 'upload'): string {
  if (name === 'upload') return 'npm run upload --';
  return context.installed ? `npx box-upload-${name}` : `npm run ${name} --`;
}

/** The kit command that reruns only what shows `rule`: its scenarios, for the same target. */
export function rerunCommand(rule: Pick<RuleResult, 'id' | 'side'>, context: ReproductionContext, finding?: Pick<Finding, 'message'>): string {
  const words = [kitCommand(context, 'conformance')];
  // A generated case is replayed by its fast-check seed and number of runs.
  const generated = /replay with --seed (\d+) --runs (\d+)/.exec(finding?.message ?? '');
  if (rule.side === 'client') {
    if (context.clientCommand !== undefined) words.push('--client', shellQuote(context.clientCommand));
    if (context.intercept) words.push('--intercept', ...(context.intercept === 'proxy' ? ['--intercept-via', 'proxy'] : []));
    if (context.partSize !== undefined) words.push('--part-size', String(context.partSize));
    if (generated) words.push('--seed', generated[1] ?? '', '--runs', generated[2] ?? '');
  } else if (context.server.kind === 'remote') {
    words.push('--server', shellQuote(context.server.baseUrl), '--token', '"$TOKEN"', '--folder', shellQuote(context.server.folderId));
    if (context.server.apiBaseUrl !== undefined && context.server.apiBaseUrl !== context.server.baseUrl)
      words.push('--api-base-url', shellQuote(context.server.apiBaseUrl));
  } else if (context.server.kind === 'replay') {
    words.push('--replay', shellQuote(context.server.dir));
  }
  words.push('--tags', shellQuote(`@${rule.id}`));
  return scrub(words.join(' '), context.secrets);
}

/** One request of a client run and its answer, on one line. */
export function exchangeLine(exchange: TimelineExchange): string {
  const what =
    exchange.op !== 'part'
      ? exchange.op
      : exchange.partNumber === undefined
        ? 'part'
        : `part ${exchange.partNumber}${exchange.attempt === undefined ? '' : `, attempt ${exchange.attempt}`}`;
  const headers = ['content-range', 'digest', 'content-type', 'authorization']
    .filter((name) => exchange.requestHeaders[name] !== undefined)
    .map((name) => `${name}: ${exchange.requestHeaders[name]}`);
  const body = exchange.requestBody.json !== undefined ? ` ${JSON.stringify(exchange.requestBody.json)}` : '';
  const answer = exchange.dropped
    ? 'connection dropped'
    : exchange.status === 0
      ? 'no answer'
      : `${exchange.status}${exchange.code ? ` ${exchange.code}` : ''}`;
  const fault = exchange.fault ? ` (fault: ${exchange.fault})` : '';
  return `#${exchange.seq} ${exchange.method} ${exchange.url} [${what}${headers.length > 0 ? `; ${headers.join('; ')}` : ''}]${body} → ${answer}${fault}`;
}

/**
 * The shell commands that rebuild a client run outside the kit: the standalone simulated server with the
 * run's part size, its fault plan, the file made from its seed, then the client with the command contract's
 * environment, then the server's record of what the client sent. `PORT` picks the port (default 8080).
 */
export function clientCommands(run: ClientRunAttachment, context: ReproductionContext): { situation: ClientSituation; commands: string[] } {
  const client = context.clientCommand;
  const file = `repro-${run.runId}.bin`;
  const situation: ClientSituation = {
    fileSize: run.setup.fileSize,
    partSize: run.setup.partSize,
    file: run.setup.source,
    faults: run.setup.instructions,
    sparseParts: run.setup.sparseParts,
    client: client ?? 'the reference uploader',
  };
  const server = kitCommand(context, 'server');
  // The server's own process, so that `kill` stops it (npm and npx start it under a shell that does not pass the signal on).
  const serverProcess = `node ${shellQuote(context.serverScript)}`;
  const origin = 'http://127.0.0.1:$PORT';
  const placeholders: Record<string, string> = {
    baseUrl: '"$UPLOAD_BASE_URL"',
    token: '"$UPLOAD_TOKEN"',
    file: '"$UPLOAD_FILE"',
    fileName: '"$UPLOAD_FILE_NAME"',
    folderId: '"$UPLOAD_FOLDER_ID"',
  };
  const clientLine =
    client === undefined
      ? `${kitCommand(context, 'upload')} "$UPLOAD_FILE" --base-url "$UPLOAD_BASE_URL" --token "$UPLOAD_TOKEN" --folder "$UPLOAD_FOLDER_ID" --name "$UPLOAD_FILE_NAME" --quiet`
      : client.replace(/\{(baseUrl|token|file|fileName|folderId)\}/g, (_, name: string) => placeholders[name] ?? '');
  const commands = [
    '# Run from the directory the kit ran in. PORT: any free port.',
    'PORT="${PORT:-8080}"',
    `# 1. The standalone simulated server, as the run had it: part_size ${run.setup.partSize}, any file size, any bearer token.`,
    `${serverProcess} --port "$PORT" --part-size ${run.setup.partSize} --min-file-size 1${run.setup.sparseParts ? ' --sparse-parts' : ''} & SERVER_PID=$!`,
    `until curl -sf "${origin}/" >/dev/null; do sleep 0.2; done`,
    `# 2. The faults the run planned${run.setup.faults.length > 0 ? `: ${run.setup.faults.join('; ')}` : ' (none)'}.`,
    `curl -sS -X PUT "${origin}/_control/faults" -H 'content-type: application/json' --data-raw ${shellQuote(JSON.stringify({ instructions: run.setup.instructions }))}`,
    `# 3. The file: ${run.setup.fileSize} seeded bytes${run.setup.source.sparse ? ' (sparse)' : ''}, SHA-1 ${run.setup.source.sha1}.`,
    `${server} --make-file ${file} --size ${run.setup.fileSize} --seed ${shellQuote(run.setup.source.seed)}${run.setup.source.sparse ? ' --sparse' : ''}`,
    ...(context.intercept
      ? ['# The run went through --intercept (the client called Box’s own hosts): point the client at UPLOAD_BASE_URL below, or rerun with the kit.']
      : []),
    '# 4. The client, with the command contract’s environment.',
    `export UPLOAD_BASE_URL="${origin}/api/2.0" UPLOAD_TOKEN=reproduction-token UPLOAD_FILE="$PWD/${file}" UPLOAD_FILE_NAME=${file} UPLOAD_FOLDER_ID=0`,
    `${clientLine}; echo "client exit code: $?"`,
    '# 5. What the server saw (the requests and its answers), then stop it.',
    `curl -sS "${origin}/_control/traffic"; echo`,
    'kill "$SERVER_PID"',
  ];
  return { situation, commands: commands.map((line) => scrub(line, context.secrets)) };
}

/** The curl line of one request: `$TOKEN` for the token, the body inline (JSON) or from a file named for its step (bytes). */
function curlLine(request: ServerReproductionRequest, step: number, secrets: readonly string[]): string {
  const words = ['curl', '-sS', '-i', '-X', request.method, shellQuote(request.url)];
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.toLowerCase() === 'authorization' && request.credentials !== 'wrong') {
      if (request.credentials !== 'none') words.push('-H', '"Authorization: Bearer $TOKEN"');
      continue;
    }
    words.push('-H', shellQuote(`${name}: ${value}`));
  }
  const { body } = request;
  if (body.kind === 'json') words.push('--data-raw', shellQuote(body.text));
  if (body.kind === 'bytes') words.push('--data-binary', `@step-${step}.bin`);
  const comment = body.kind === 'bytes' ? `# step-${step}.bin: ${body.length} bytes, SHA-1 ${body.sha1}: ${body.how}\n` : '';
  return scrub(`${comment}${words.join(' ')}`, secrets);
}

/** A server reproduction's steps: every request as a curl line, what the model expected, what came back. */
export function serverReproduction(requests: readonly ServerReproductionRequest[], secrets: readonly string[] = []): ServerReproductionStep[] {
  return requests.map((request, index) => ({
    curl: curlLine(request, index + 1, secrets),
    expected: scrub(request.expected, secrets),
    answered: scrub(request.answered, secrets),
  }));
}

function serverRequestsOf(run: string, scenarios: readonly ScenarioResult[]): ServerReproductionAttachment['requests'] | undefined {
  for (const scenario of scenarios) for (const attachment of scenario.evidence.serverReproductions) if (attachment.run === run) return attachment.requests;
  return undefined;
}

function serverExchangesOf(run: string, scenarios: readonly ScenarioResult[]): ServerExchangeAttachment[] {
  return scenarios.find((candidate) => candidate.name === run)?.evidence.serverExchanges ?? [];
}

/** The reproduction of a failed rule: of its first finding (the one its evidence shows), or of its failed scenario. */
export function reproductionOf(
  rule: RuleResult,
  scenarios: readonly ScenarioResult[],
  clientRuns: ReadonlyMap<string, ClientRunAttachment>,
  context: ReproductionContext,
): Reproduction {
  const [finding] = rule.findings ?? [];
  const failedScenario = scenarios.find((scenario) => scenario.status === 'failed' && scenario.rules.includes(rule.id));
  const rerun = rerunCommand(rule, context, finding);
  const message = scrub(finding?.message ?? failedScenario?.message ?? rule.evidence, context.secrets);
  if (rule.side === 'client') {
    const run = (finding && clientRuns.get(finding.run)) ?? failedScenario?.evidence.clientRuns[0];
    if (!run) return { side: 'client', run: finding?.run ?? failedScenario?.name ?? '', finding: message, rerun, observed: [] };
    const named = new Set(finding?.requests ?? []);
    const observed = run.exchanges.filter((exchange) => named.has(exchange.seq)).map((exchange) => scrub(exchangeLine(exchange), context.secrets));
    return { side: 'client', run: run.runId, finding: message, rerun, ...clientCommands(run, context), observed };
  }
  const where = finding?.run ?? failedScenario?.name ?? '';
  // Up to the last request the finding names: the sequence that brings the server to the answer that broke the rule.
  const last = finding && finding.requests.length > 0 ? Math.max(...finding.requests) : Number.POSITIVE_INFINITY;
  const all = serverRequestsOf(where, scenarios);
  const session = all?.find((request) => request.index === last)?.session;
  const requests = all?.filter((request) => request.index <= last && (session === undefined || request.session === session));
  const exchanges = serverExchangesOf(where, scenarios);
  const culprits = finding && finding.requests.length > 0 ? finding.requests.map((index) => exchanges[index]) : exchanges.slice(-1);
  const observed = culprits
    .filter((exchange): exchange is ServerExchangeAttachment => exchange !== undefined)
    .map((exchange) =>
      scrub(`${exchange.request} → ${exchange.status === undefined ? `no answer: ${exchange.failure ?? ''}` : `HTTP ${exchange.status}`}`, context.secrets),
    );
  return {
    side: 'server',
    run: where,
    finding: message,
    rerun,
    ...(requests && requests.length > 0 ? { steps: serverReproduction(requests, context.secrets) } : {}),
    observed,
  };
}

/** Every failed rule with its reproduction. */
export function withReproductions(
  rules: readonly RuleResult[],
  scenarios: readonly ScenarioResult[],
  clientRuns: ReadonlyMap<string, ClientRunAttachment>,
  context: ReproductionContext,
): RuleResult[] {
  return rules.map((rule) => (rule.status === 'failed' ? { ...rule, reproduction: reproductionOf(rule, scenarios, clientRuns, context) } : rule));
}

/** A reproduction as one shell script for a reader to copy: the client commands, or the server's curl lines with what each answer should have been. */
export function reproductionScript(reproduction: Reproduction): string {
  if (reproduction.commands) return reproduction.commands.join('\n');
  if (reproduction.steps && reproduction.steps.length > 0)
    return [
      '# TOKEN: a token the server accepts (never written into a report).',
      ...reproduction.steps.map((step, index) => `# step ${index + 1}: expected ${step.expected}; answered ${step.answered}\n${step.curl}`),
    ].join('\n');
  return '';
}
