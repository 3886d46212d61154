import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { KitError } from '../src/errors.ts';
import { commandClient, environmentFor, expandPlaceholders } from '../src/adapters/command.ts';
import { type RunAuthority, createRunAuthority } from '../src/intercept/authority.ts';
import { describeInterceptLog, noRequestProblem } from '../src/intercept/evidence.ts';
import { type InterceptedRun, type Interceptor, createInterceptor } from '../src/intercept/interceptor.ts';
import { namespaceUnavailable } from '../src/intercept/namespace.ts';
import { type InterceptProxy, startInterceptProxy } from '../src/intercept/proxy.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';

/** A CONNECT through the proxy: its status, and the tunnel's socket when it is 200. */
function connectThrough(proxyUrl: string, target: string): Promise<{ status: number; socket: Socket; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxyUrl}`, { method: 'CONNECT', path: target });
    req.once('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      let body = head.toString();
      if (res.statusCode !== 200) {
        socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
        socket.once('end', () => resolve({ status: res.statusCode ?? 0, socket, body }));
        return;
      }
      resolve({ status: 200, socket, body });
    });
    req.once('error', reject);
    req.end();
  });
}

function curl(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Only what the test gives: no proxy or CA variable of the machine's own.
    execFile('curl', ['-sS', '--max-time', '20', ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Why a Python client test cannot run here, if it cannot: /usr/bin/python3 without requests. */
function pythonRequestsMissing(): string | undefined {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import requests'], { stdio: 'ignore' });
  return probe.status === 0 ? undefined : '/usr/bin/python3 with requests is needed (Debian: apt-get install python3-requests)';
}

describe('the interception proxy and its CA', () => {
  let dir = '';
  let authority: RunAuthority;
  let proxy: InterceptProxy;
  let upstream: Server;
  const delivered: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'intercept-test-'));
    authority = await createRunAuthority(dir);
    // Stands in for the simulated server: says what it was asked, and on which host.
    upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ host: req.headers.host, method: req.method, url: req.url }));
    });
    proxy = await startInterceptProxy({
      authority,
      hosts: ['upload.box.com', 'api.box.com'],
      deliver: (socket, host) => {
        delivered.push(host);
        upstream.emit('connection', socket);
      },
    });
  });
  after(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  test('binds 127.0.0.1 only', () => {
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test("presents, for each Box host, a certificate for that host signed by the run's CA, and hands over the decrypted connection", async () => {
    for (const host of ['upload.box.com', 'api.box.com']) {
      const { status, socket } = await connectThrough(proxy.url, `${host}:443`);
      assert.equal(status, 200);
      const tls = tlsConnect({ socket, servername: host, ca: authority.caPem, ALPNProtocols: ['h2', 'http/1.1'] });
      await once(tls, 'secureConnect');
      assert.equal(tls.authorized, true, String(tls.authorizationError));
      const peer: PeerCertificate = tls.getPeerCertificate();
      assert.equal(peer.subjectaltname, `DNS:${host}`);
      assert.match(peer.issuer.CN ?? '', /^Box conformance kit interception CA /);
      assert.equal(tls.alpnProtocol, 'http/1.1', 'HTTP/2 is not offered: the simulated server speaks HTTP/1.1');
      tls.end(`GET /api/2.0/x HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
      let answer = '';
      for await (const chunk of tls) answer += String(chunk);
      assert.match(answer, new RegExp(`^HTTP/1.1 200 OK[^]*"host":"${host}","method":"GET","url":"/api/2.0/x"`));
    }
    assert.deepEqual(delivered.slice(-2), ['upload.box.com', 'api.box.com']);
  });

  test('curl, reading the proxy and the CA from the environment, reaches both hosts unmodified', async () => {
    const env = { https_proxy: proxy.url, CURL_CA_BUNDLE: authority.caFile };
    const upload = await curl(['https://upload.box.com/api/2.0/files/upload_sessions'], env);
    assert.equal(upload.code, 0, upload.stderr);
    assert.deepEqual(JSON.parse(upload.stdout), { host: 'upload.box.com', method: 'GET', url: '/api/2.0/files/upload_sessions' });
    const api = await curl(['https://api.box.com/2.0/folders/0/items?limit=5'], env);
    assert.equal(api.code, 0, api.stderr);
    assert.deepEqual(JSON.parse(api.stdout), { host: 'api.box.com', method: 'GET', url: '/2.0/folders/0/items?limit=5' });
  });

  test('refuses every other host and port with 403, and forwards no plain-HTTP request', async () => {
    const before = proxy.log().counts.refused;
    for (const target of ['example.com:443', 'upload.box.com:80', 'account.box.com:443', '127.0.0.1:22']) {
      const { status, body } = await connectThrough(proxy.url, target);
      assert.equal(status, 403, target);
      assert.match(body, /nothing leaves this machine/);
    }
    const plain = await curl(['-o', '/dev/null', '-w', '%{http_code}', 'http://upload.box.com/api/2.0/files/upload_sessions?access_token=s3cret'], {
      http_proxy: proxy.url,
    });
    assert.equal(plain.stdout, '403');
    const log = proxy.log();
    assert.equal(log.counts.refused - before, 5);
    const evidence = describeInterceptLog({ via: 'proxy', ...log });
    assert.match(evidence, /CONNECT example\.com:443: refused \(403\)/);
    assert.match(evidence, /GET http:\/\/upload\.box\.com\/api\/2\.0\/files\/upload_sessions\?…: refused/);
    assert.doesNotMatch(evidence, /s3cret/);
  });

  test('a client that rejects the certificate: the alert it sent is logged and named in the kit error', async () => {
    const rejected = await curl(['https://upload.box.com/api/2.0/files/upload_sessions'], { https_proxy: proxy.url, CURL_CA_BUNDLE: join(dir, 'missing.pem') });
    assert.notEqual(rejected.code, 0);
    const unknownCa = await curl(['--cacert', '/etc/ssl/certs/ca-certificates.crt', 'https://upload.box.com/'], { https_proxy: proxy.url });
    assert.notEqual(unknownCa.code, 0);
    const log = proxy.log();
    const failure = log.events.find((event) => event.kind === 'tls-failed' && /unknown_ca/.test(event.detail ?? ''));
    assert.ok(failure, JSON.stringify(log.events));
    const problem = noRequestProblem({ via: 'proxy', events: [failure], counts: { intercepted: 0, refused: 0, 'tls-failed': 1 } });
    assert.match(problem, /^the client made no request through the proxy; does it honour HTTPS_PROXY\?/);
    assert.match(problem, /the client sent TLS alert unknown_ca \(48\)/);
  });

  test('a client that ignores the proxy gets the plain question', () => {
    assert.equal(
      noRequestProblem({ via: 'proxy', events: [], counts: { intercepted: 0, refused: 0, 'tls-failed': 0 } }),
      'the client made no request through the proxy; does it honour HTTPS_PROXY?',
    );
  });

  test("the run's directory holds the CA's certificate and never a private key", async () => {
    assert.deepEqual(await readdir(dir), ['intercept-ca.pem']);
    const pem = await readFile(authority.caFile, 'utf8');
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
    assert.doesNotMatch(pem, /PRIVATE KEY/);
  });
});

describe('the client environment of --intercept', () => {
  const job = { baseUrl: 'https://upload.box.com/api/2.0', token: 't0k', file: '/tmp/f.bin', fileName: 'f.bin', folderId: '0', timeoutMs: 1000 };
  const proxy = { via: 'proxy', proxyUrl: 'http://127.0.0.1:4321', caFile: '/tmp/run/intercept-ca.pem' } as const;

  test('every proxy variable in both spellings, NO_PROXY cleared, and the CA where each stack reads it', () => {
    const env = environmentFor({ ...job, intercept: proxy });
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) assert.equal(env[name], proxy.proxyUrl, name);
    for (const name of ['NO_PROXY', 'no_proxy']) assert.equal(env[name], '', name);
    for (const name of ['SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS']) assert.equal(env[name], proxy.caFile, name);
    assert.equal(env.UPLOAD_BASE_URL, 'https://upload.box.com/api/2.0');
  });

  test("in the client's own namespace: no proxy (an inherited one emptied) and the CA where each stack reads it", () => {
    const env = environmentFor({
      ...job,
      intercept: { via: 'namespace', caFile: proxy.caFile, hostsFile: '/tmp/run/intercept-hosts', adopt: () => undefined },
    });
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'])
      assert.equal(env[name], '', name);
    for (const name of ['SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS']) assert.equal(env[name], proxy.caFile, name);
    assert.equal(env.NODE_USE_ENV_PROXY, undefined);
  });

  test('no proxy variable without --intercept', () => {
    assert.deepEqual(Object.keys(environmentFor(job)).sort(), ['UPLOAD_BASE_URL', 'UPLOAD_FILE', 'UPLOAD_FILE_NAME', 'UPLOAD_FOLDER_ID', 'UPLOAD_TOKEN']);
  });

  test('{caFile} is the CA with --intercept, and a kit error without it', () => {
    assert.equal(expandPlaceholders('rclone --ca-cert {caFile} {file}', { ...job, intercept: proxy }), 'rclone --ca-cert /tmp/run/intercept-ca.pem /tmp/f.bin');
    assert.throws(
      () => expandPlaceholders('rclone --ca-cert {caFile}', job),
      (error) => error instanceof KitError && /--intercept/.test(error.message),
    );
  });
});

// Box's drops reach a client as a reset connection, and so do the simulated server's direct (the kernel resets a
// connection closed with body bytes unread). Through the proxy the client's TCP connection is the proxy's:
// unless the proxy resets it, the client sees the proxy's orderly TLS close and its FIN, a different failure.
describe('a dropped connection through the proxy', () => {
  let server: SimulatedServer;
  let run: InterceptedRun;
  let ca = '';

  before(async () => {
    server = await startSimulatedServer({ token: 't', partSize: 1024 * 1024, minFileSize: 1 });
    const interceptor = await createInterceptor(await mkdtemp(join(tmpdir(), 'intercept-drop-')), 'proxy');
    ca = await readFile(interceptor.caFile, 'utf8');
    run = await interceptor.start(server);
  });
  after(async () => {
    await run.finish();
    await server.close();
  });

  const tunnel = async () => {
    if (run.access.via !== 'proxy') throw new Error('a proxy run');
    const { socket } = await connectThrough(run.access.proxyUrl, 'upload.box.com:443');
    const tls = tlsConnect({ socket, servername: 'upload.box.com', ca });
    await once(tls, 'secureConnect');
    return tls;
  };
  /** Opens a session for a file of 2 parts, through the proxy: its upload_part URL's path. */
  const createSession = async (): Promise<string> => {
    const tls = await tunnel();
    const body = JSON.stringify({ folder_id: '0', file_name: `f-${Math.random()}.bin`, file_size: 2 * 1024 * 1024 });
    tls.end(
      `POST /api/2.0/files/upload_sessions HTTP/1.1\r\nhost: upload.box.com\r\nauthorization: Bearer t\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    let answer = '';
    for await (const chunk of tls) answer += String(chunk);
    const session = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { session_endpoints: { upload_part: string } };
    return new URL(session.session_endpoints.upload_part).pathname;
  };
  /** Sends part 1 through the proxy: what was answered, and how the connection ended (an error's code, or "closed": close_notify and FIN). */
  const sendPart = async (path: string): Promise<{ answer: string; end: string }> => {
    const tls = await tunnel();
    const part = Buffer.alloc(1024 * 1024, 7);
    const digest = createHash('sha1').update(part).digest('base64');
    let answer = '';
    const end = new Promise<string>((resolve) => {
      tls.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      tls.once('close', () => resolve('closed'));
    });
    tls.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    tls.write(
      `PUT ${path} HTTP/1.1\r\nhost: upload.box.com\r\nauthorization: Bearer t\r\ndigest: sha=${digest}\r\n` +
        `content-range: bytes 0-${part.length - 1}/${2 * part.length}\r\ncontent-length: ${part.length}\r\nconnection: close\r\n\r\n`,
    );
    tls.write(part);
    return { end: await end, answer };
  };

  test('mid-body, or after the part was stored: the client connection is reset (no close_notify, no FIN)', async () => {
    for (const action of [{ kind: 'drop' }, { kind: 'drop', persist: true }] as const) {
      server.setFaultPlan({ instructions: [{ op: 'part', part: 1, attempt: 1, action }] });
      assert.deepEqual(await sendPart(await createSession()), { end: 'ECONNRESET', answer: '' }, JSON.stringify(action));
    }
  });

  test('an answer, a 5xx included, passes through and the connection ends as the server ended it', async () => {
    server.setFaultPlan({ instructions: [{ op: 'part', part: 1, attempt: 1, action: { kind: 'error', status: 503 } }] });
    const { answer, end } = await sendPart(await createSession());
    assert.match(answer, /^HTTP\/1.1 503 [^]*"code":"unavailable"/);
    assert.equal(end, 'closed');
  });
});

// --intercept's default on Linux: the client in a network namespace of its own, where Box's hosts are 127.0.0.1
// and the kit accepts on 127.0.0.1:443. The client connects to Box's hosts as it would to Box (no proxy), so a
// drop reaches it as it does direct; and nothing else is reachable from there.
describe("the client's own network namespace", { skip: namespaceUnavailable() }, () => {
  let server: SimulatedServer;
  let interceptor: Interceptor;
  const job = { token: 't', file: '/dev/null', fileName: 'f.bin', folderId: '0', timeoutMs: 30_000 };

  before(async () => {
    server = await startSimulatedServer({ token: 't', partSize: 1024 * 1024, minFileSize: 1 });
    interceptor = await createInterceptor(await mkdtemp(join(tmpdir(), 'intercept-ns-')), 'namespace');
  });
  after(() => server.close());

  /** Runs `script` (sh) as a client in its own namespace; what it printed, and what the kit saw. */
  const runInNamespace = async (script: string) => {
    const run = await interceptor.start(server);
    const outcome = await commandClient(script).upload({ ...job, baseUrl: run.baseUrl, intercept: run.access });
    return { outcome, log: await run.finish() };
  };

  test("reaches Box's hosts over TLS with the run's CA, and nothing else: not the host's loopback, not another name", async () => {
    const hostPort = new URL(server.baseUrl).port;
    const { outcome, log } = await runInNamespace(
      [
        `curl -sS -o /dev/null -w "upload %{http_code}\\n" -H "authorization: Bearer t" "$UPLOAD_BASE_URL/files/upload_sessions/${'F'.repeat(32)}"`,
        'curl -sS -o /dev/null -w "api %{http_code}\\n" -H "authorization: Bearer t" https://api.box.com/2.0/folders/0/items',
        `curl -sS -m 5 -o /dev/null http://127.0.0.1:${hostPort}/ || echo "host loopback unreachable $?"`,
        'curl -sS -m 5 -o /dev/null https://example.com/ || echo "example.com unreachable $?"',
        'echo "proxy=[$HTTPS_PROXY$https_proxy]"',
      ].join('; '),
    );
    assert.equal(outcome.exitCode, 0, outcome.stderr);
    assert.match(outcome.stdout, /^upload 404\napi 200\nhost loopback unreachable 7\nexample\.com unreachable 6\nproxy=\[\]\n$/, outcome.stderr);
    assert.deepEqual(log.counts, { intercepted: 2, refused: 0, 'tls-failed': 0 });
    assert.match(describeInterceptLog(log), /^upload\.box\.com:443: answered by the simulated server\napi\.box\.com:443: answered by the simulated server$/);
  });

  test('a client that does not trust the CA: the TLS alert it sent, in the kit error', async () => {
    const { log } = await runInNamespace('curl -sS --cacert /etc/ssl/certs/ca-certificates.crt https://upload.box.com/api/2.0/files/upload_sessions');
    const problem = noRequestProblem(log);
    assert.match(
      problem,
      /^the client made no request to Box's hosts .* It reached upload\.box\.com:443 but did not accept the kit's certificate: the client sent TLS alert unknown_ca/,
    );
  });

  test('a drop reaches a Python requests client as it does direct: "Connection aborted", no ProxyError', { skip: pythonRequestsMissing() }, async () => {
    server.setFaultPlan({ instructions: [{ op: 'part', part: 1, attempt: 1, action: { kind: 'drop' } }] });
    const created = await fetch(`${server.baseUrl}/files/upload_sessions`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_name: `ns-${Math.random()}.bin`, file_size: 2 * 1024 * 1024 }),
    });
    const path = new URL(((await created.json()) as { session_endpoints: { upload_part: string } }).session_endpoints.upload_part).pathname;
    const python = [
      'import base64, hashlib, requests',
      "data = b'7' * 1048576",
      "digest = 'sha=' + base64.b64encode(hashlib.sha1(data).digest()).decode()",
      'try:',
      `    answer = requests.put('https://upload.box.com${path}', data=data, headers={'authorization': 'Bearer t', 'content-range': 'bytes 0-1048575/2097152', 'digest': digest})`,
      '    print(answer.status_code, answer.text)',
      'except requests.exceptions.RequestException as error:',
      '    print(type(error).__name__, error)',
    ].join('\n');
    const script = join(await mkdtemp(join(tmpdir(), 'intercept-ns-')), 'put.py');
    await writeFile(script, python);
    const { outcome } = await runInNamespace(`/usr/bin/python3 ${script}`);
    assert.match(outcome.stdout, /^ConnectionError \('Connection aborted\.'/, outcome.stdout + outcome.stderr);
  });
});
