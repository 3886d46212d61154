// Drives `npm run server` (its own process) with generated traffic, valid and malformed, and prints what
// the simulated server's budgets are for: its resident memory stays flat however long it runs, and it
// answers everything, with no 5xx of its own. Prints figures; asserts nothing.
//   node --no-warnings --import ./src/register.mjs bench/server-load.ts [--requests 100000 --concurrency 24 --seed 1]
//     [--server-args="--traffic-budget 1048576"]   (more options for `npm run server`)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { integerOption, parseCommandLine } from '../src/cli/args.ts';

const COMMAND = 'bench/server-load.ts';
const { values } = parseCommandLine(COMMAND, {
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  seed: { type: 'string' },
  'server-args': { type: 'string' },
});
const TOTAL = integerOption(COMMAND, 'requests', values.requests, 100_000, 1);
const CONCURRENCY = integerOption(COMMAND, 'concurrency', values.concurrency, 24, 1);
const SEED = integerOption(COMMAND, 'seed', values.seed, 1, 0);
const TOKEN = 'load-token';
const PART = 64 * 1024;
const ANSWER_WITHIN_MS = 10_000;

/** mulberry32: a small seeded generator, so that a run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

const server = spawn(
  process.execPath,
  [
    '--no-warnings',
    '--import',
    './src/register.mjs',
    'src/cli/server.ts',
    '--token',
    TOKEN,
    '--part-size',
    String(PART),
    '--min-file-size',
    '1',
    ...(values['server-args']?.split(' ').filter(Boolean) ?? []),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let crashed: string | undefined;
server.once('exit', (code, signal) => (crashed = `server exited (${code ?? signal})`));
const baseUrl = await new Promise<string>((resolve) => createInterface({ input: server.stdout }).once('line', resolve));
const origin = new URL(baseUrl).origin;
const port = Number(new URL(baseUrl).port);
const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 4_000 });
const auth = { authorization: `Bearer ${TOKEN}` };

const statuses = new Map<string, number>();
let unanswered = 0;
let serverErrors = 0;
const count = (status: number | string) => {
  statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
  if (typeof status === 'number' && status >= 500) serverErrors += 1;
};

async function send(method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | string } = {}) {
  try {
    const res = await request(`${origin}${path}`, {
      method: method as 'GET',
      headers: options.headers,
      body: options.body,
      dispatcher: agent,
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
    const text = await res.body.text();
    count(res.statusCode);
    let json: Record<string, unknown> | undefined;
    try {
      json = res.headers['content-type'] === 'application/json' ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      count('answer that is not JSON');
    }
    return { status: res.statusCode, json };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') unanswered += 1;
    count(`client error ${(error as NodeJS.ErrnoException).code ?? name}`);
    return { status: 0, json: undefined };
  }
}

/** A raw request a client library would not send; counts whether an answer came before the connection closed. */
function sendRaw(bytes: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      unanswered += 1;
      socket.destroy();
    }, ANSWER_WITHIN_MS);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      count(status ? Number(status) : 'closed without an answer');
      resolve();
    });
    socket.end(bytes);
  });
}

const sha = (bytes: Buffer) => createHash('sha1').update(bytes).digest('base64');
const bytesOf = (size: number) => Buffer.alloc(size, Math.floor(next() * 256));

/** One upload to its end: create, 4 parts, list, commit, read back, delete (8 requests). */
async function validFlow(): Promise<number> {
  const data = bytesOf(3 * PART + 1000);
  const created = await send('POST', '/api/2.0/files/upload_sessions', {
    headers: auth,
    body: JSON.stringify({ folder_id: '0', file_name: `load-${next()}.bin`, file_size: data.length }),
  });
  const id = created.json?.id;
  if (typeof id !== 'string') return 1;
  const parts = [];
  for (let offset = 0; offset < data.length; offset += PART) {
    const bytes = data.subarray(offset, offset + PART);
    const answer = await send('PUT', `/api/2.0/files/upload_sessions/${id}`, {
      headers: { ...auth, 'content-range': `bytes ${offset}-${offset + bytes.length - 1}/${data.length}`, digest: `sha=${sha(bytes)}` },
      body: bytes,
    });
    parts.push((answer.json as { part?: unknown } | undefined)?.part);
  }
  await send('GET', `/api/2.0/files/upload_sessions/${id}/parts`, { headers: auth });
  const committed = await send('POST', `/api/2.0/files/upload_sessions/${id}/commit`, {
    headers: { ...auth, digest: `sha=${sha(data)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ parts }),
  });
  const fileId = (committed.json as { entries?: { id?: string }[] } | undefined)?.entries?.[0]?.id;
  if (!fileId) return 7;
  await send('GET', `/api/2.0/files/${fileId}/content`, { headers: auth });
  await send('DELETE', `/api/2.0/files/${fileId}`, { headers: auth });
  return 9;
}

const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
const bigJson = JSON.stringify({ folder_id: '0', file_name: 'x', file_size: 1, pad: 'p'.repeat(4_000_000) });
const someSession = () => createHash('md5').update(String(next())).digest('hex').toUpperCase();

/** One malformed or odd request (or a session left behind); resolves how many requests it sent. */
async function oddRequest(): Promise<number> {
  const kind = next();
  const session = someSession();
  if (kind < 0.1) await send('GET', pick(['/api/2.0/files/upload_sessions/%ZZ', '/api/2.0/files/upload_sessions/%ZZ/parts']), { headers: auth });
  else if (kind < 0.15) await send('GET', `/api/2.0/files/${'x'.repeat(15_000)}`, { headers: auth });
  else if (kind < 0.25) await send('GET', `/api/2.0/nowhere/${next()}`, { headers: auth });
  else if (kind < 0.3) await send('POST', '/api/2.0/files/upload_sessions', { headers: auth, body: deep });
  else if (kind < 0.4) await send('POST', '/api/2.0/files/upload_sessions', { headers: auth, body: pick(['{not json', '[]', '{"folder_id":"0"}']) });
  else if (kind < 0.5) {
    await send('PUT', `/api/2.0/files/upload_sessions/${session}`, {
      headers: { ...auth, 'content-range': pick(['bytes 0-9/10', 'bytes=0-9/10', 'nonsense']), digest: pick(['sha=abc', 'md5=x']) },
      body: bytesOf(10),
    });
  } else if (kind < 0.6) await send(pick(['PATCH', 'POST']), `/api/2.0/files/upload_sessions/${session}`, { headers: auth, body: '{}' });
  else if (kind < 0.65) await send('POST', '/api/2.0/files/upload_sessions', { headers: { authorization: 'Bearer wrong' }, body: '{}' });
  else if (kind < 0.7) await sendRaw('GARBAGE / HTTP/9.9\r\n\r\n');
  else if (kind < 0.73) await sendRaw(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`);
  else if (kind < 0.76) await sendRaw(`POST /api/2.0/files/upload_sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{}   trailing`);
  else if (kind < 0.8) await send('GET', `/api/2.0/files/upload_sessions/${session}/parts?limit=${pick(['0', '5000', 'x'])}`, { headers: auth });
  else if (kind < 0.9) {
    // A session left open, as a failing client suite leaves them: the session cap and TTL deal with it.
    await send('POST', '/api/2.0/files/upload_sessions', {
      headers: auth,
      body: JSON.stringify({ folder_id: '0', file_name: `left-${next()}`, file_size: 5 }),
    });
  } else if (kind < 0.902) await send('POST', '/api/2.0/files/upload_sessions', { body: bigJson });
  else if (kind < 0.903) await send('PUT', '/_control/faults', { body: Buffer.alloc(5 * 1024 * 1024, 0x20) });
  else await send('GET', `/api/2.0/files/upload_sessions/${session}`, { headers: auth });
  return 1;
}

const rssSamples: { sent: number; rssMiB: number }[] = [];
const rssMiB = async (field: 'VmRSS' | 'VmHWM') => {
  const status = await readFile(`/proc/${server.pid}/status`, 'utf8').catch(() => '');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
};
const startRss = await rssMiB('VmRSS');
let sent = 0;
let nextCheckpoint = TOTAL / 10;
let trafficReads = 0;
const started = performance.now();

async function worker(): Promise<void> {
  while (sent < TOTAL && !crashed) {
    const requests = next() < 0.3 ? await validFlow() : await oddRequest();
    sent += requests;
    if (sent >= nextCheckpoint) {
      nextCheckpoint += TOTAL / 10;
      rssSamples.push({ sent, rssMiB: await rssMiB('VmRSS') });
      // The whole traffic record, as a test suite reads it: served within its budget.
      trafficReads += 1;
      await send('GET', '/_control/traffic');
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const seconds = (performance.now() - started) / 1000;
const peak = await rssMiB('VmHWM');
await agent.close();
server.kill('SIGTERM');

console.log(
  `server-load: ${sent} requests (seed ${SEED}), ${CONCURRENCY} concurrent, ${seconds.toFixed(0)} s (${(sent / seconds).toFixed(0)}/s), ${trafficReads} traffic reads`,
);
console.log(
  `server RSS: ${startRss.toFixed(0)} MiB at start, peak ${peak.toFixed(0)} MiB; by requests sent: ${rssSamples.map((s) => `${s.sent}: ${s.rssMiB.toFixed(0)}`).join(', ')}`,
);
console.log(
  `answers: ${[...statuses.entries()]
    .sort()
    .map(([status, n]) => `${status} ×${n}`)
    .join(', ')}`,
);
console.log(`5xx: ${serverErrors}; unanswered within ${ANSWER_WITHIN_MS / 1000} s: ${unanswered}; ${crashed ?? 'server still running at the end'}`);
