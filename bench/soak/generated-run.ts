// One run of the generated section, as an explicit state object: what the workers share (the server
// process, the live sessions, the counts), and each kind of case as a method.
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { FaultInstruction } from '../../src/server/faults.ts';
import { API, Client, type SessionInfo, type Step, Upload, isInjected, uploadOverWire } from './api.ts';
import { Counter, Invariants, Reservoir, type SectionResult, describeResult, mib, ms, percentile } from './figures.ts';
import { type Case, type MalformedCase, caseArbitrary, orderOf } from './generated-cases.ts';
import { LiveState } from './generated-live.ts';
import { type WireExpectation, wireFor } from './generated-wire.ts';
import { ANSWER_INVARIANTS, judgeAnswer } from './judge.ts';
import { type ServerProcess, crashSummary, filesUnder } from './server-process.ts';
import { WireConnection, type WireResult, exchange, jsonOf, requestBytes } from './wire.ts';

export interface GeneratedOptions {
  seed: number;
  requests: number;
  concurrency: number;
  /** Stop starting cases after this long, whatever the count. */
  maxSeconds: number;
  /** Connections that dribble headers for the whole section (slow-loris). */
  slowLoris: number;
  partSize: number;
  /** Starts the server (again, after a crash) with the given storage directory. */
  startServer: () => Promise<ServerProcess>;
  storageDir: string;
  /** The server's peak RSS (VmHWM) must stay under this. */
  maxPeakRssMiB: number;
  log?: (line: string) => void;
}

const DEADLINE_MS = 10_000;
const MiB = 1024 * 1024;
/** Cases are drawn in seeded blocks of this many, as the workers need them. */
const CASE_BLOCK = 500;

/** Faults every session follows during the section: their 5xx are expected, all others are findings. */
export const INJECTED_FAULTS: FaultInstruction[] = [
  { op: 'part', part: 2, attempt: 1, action: { kind: 'error', status: 503 } },
  { op: 'part', part: 3, attempt: 1, action: { kind: 'rate-limit', retryAfter: 0 } },
  { op: 'commit', attempt: 1, action: { kind: 'error', status: 500 } },
];

export const INVARIANTS = {
  ...ANSWER_INVARIANTS,
  keepAlive: 'kept-alive connections that did not answer the next request',
  crashes: 'server crashes',
  validFailed: 'valid requests answered with an unexpected status',
  bytesLost: 'committed files whose content read back differs from the source',
  raceBothWon: 'sessions whose commit and abort, sent at once, were both answered success',
  raceLost: 'files committed in a commit/abort race that cannot be read back identical',
  controlFrozen: 'GET /_control/traffic not answered with JSON within 10 s after the storm',
  orphans: 'files left in the storage directory after every session was aborted and every file deleted',
  memory: 'server peak RSS (VmHWM) over the budget',
} as const;

export class GeneratedRun {
  readonly invariants = new Invariants(Object.values(INVARIANTS));
  readonly statuses = new Counter();
  readonly kinds = new Counter();
  readonly validLatency = new Reservoir();
  readonly live = new LiveState();
  readonly crashes: string[] = [];
  peakRss = 0;
  sent = 0;
  injected = 0;
  uploads = 0;
  identical = 0;
  /** The restart under way, if any: one at a time; workers that find the server gone wait for it. */
  restarting: Promise<void> | undefined;
  readonly started = performance.now();
  readonly stopAt: number;
  readonly #log: (line: string) => void;
  readonly #arbitrary: fc.Arbitrary<Case>;
  #block: Case[] = [];
  #drawn = 0;
  #lastProgress = performance.now();
  #rssTimer: NodeJS.Timeout | undefined;
  /** Slow-loris connections: a header line now and then, never finished, for the whole storm. */
  readonly #loris: WireConnection[] = [];
  #lorisTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly options: GeneratedOptions,
    public server: ServerProcess,
  ) {
    this.#log = options.log ?? (() => {});
    this.stopAt = this.started + options.maxSeconds * 1000;
    this.#arbitrary = caseArbitrary(options.partSize);
  }

  static async start(options: GeneratedOptions): Promise<GeneratedRun> {
    const run = new GeneratedRun(options, await options.startServer());
    await run.setFaults();
    run.#rssTimer = setInterval(() => {
      void run.server.samplePeakRss().then((value) => (run.peakRss = Math.max(run.peakRss, value)));
    }, 500);
    return run;
  }

  async setFaults(): Promise<void> {
    const result = await exchange(this.server.port, {
      method: 'PUT',
      target: '/_control/faults',
      body: Buffer.from(JSON.stringify({ instructions: INJECTED_FAULTS })),
    });
    if (result.kind !== 'answer' || result.answer.status !== 200) throw new Error(`could not set the fault plan: ${describeResult(result)}`);
  }

  /** When the server is gone: records the crash and starts it again (once, however many workers notice). */
  noticeCrash(): Promise<void> | undefined {
    if (this.server.alive || this.restarting) return this.restarting;
    this.restarting = (async () => {
      const exit = await this.server.exited;
      this.peakRss = Math.max(this.peakRss, await this.server.samplePeakRss());
      const lastLines = crashSummary(exit.stderr);
      this.crashes.push(`exit ${exit.code ?? exit.signal}: ${lastLines}`);
      this.invariants.violate(INVARIANTS.crashes, {
        request: `after ${this.sent.toLocaleString('en')} requests`,
        answer: `the server exited ${exit.code ?? exit.signal}: ${lastLines}`,
      });
      this.#log(`  the server crashed after ${this.sent} requests (${lastLines}); restarting it`);
      this.live.sessions.length = 0;
      this.live.files.length = 0;
      this.server = await this.options.startServer();
      await this.setFaults();
      this.restarting = undefined;
    })();
    return this.restarting;
  }

  async openSlowLoris(): Promise<void> {
    for (let index = 0; index < this.options.slowLoris; index++) {
      const connection = await WireConnection.open(this.server.port);
      if (connection instanceof WireConnection) {
        this.#loris.push(connection);
        void connection.send(Buffer.from(`GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n`));
      }
    }
    this.#lorisTimer = setInterval(() => {
      for (const connection of this.#loris) if (!connection.closed) void connection.send(Buffer.from('x-slow: 1\r\n'));
    }, 1_000);
  }

  /** Ends the slow-loris connections; how many of them the server had closed. */
  closeSlowLoris(): { closed: number; of: number } {
    clearInterval(this.#lorisTimer);
    const closed = this.#loris.filter((connection) => connection.closed).length;
    for (const connection of this.#loris) connection.close();
    return { closed, of: this.#loris.length };
  }

  nextCase(): Case {
    if (this.#block.length === 0) this.#block = fc.sample(this.#arbitrary, { seed: this.options.seed + this.#drawn / CASE_BLOCK, numRuns: CASE_BLOCK });
    this.#drawn += 1;
    return this.#block.shift() as Case;
  }

  /** Judges one answer against what every request is owed, and a valid request's against its status. */
  judge(describe: string, result: WireResult, expect: WireExpectation, kind: string): void {
    this.live.noteAnswer(result);
    judgeAnswer(this.invariants, this.statuses, `${describe} (${kind})`, result, { mayClose: expect.mayClose, sampleKind: kind });
    if (result.kind !== 'answer') return;
    if (result.answer.status >= 500 && isInjected(result.answer)) this.injected += 1;
    if (expect.wantStatus !== undefined) {
      this.invariants.check(
        INVARIANTS.validFailed,
        result.answer.status === expect.wantStatus,
        () => ({ request: `${describe} (${kind})`, answer: describeResult(result) }),
        `${kind}:${result.answer.status}`,
      );
    }
  }

  async runMalformed(testCase: MalformedCase): Promise<void> {
    const wire = wireFor(testCase, this.live, this.server.token, this.options.partSize);
    const connection = await WireConnection.open(this.server.port);
    if (!(connection instanceof WireConnection)) {
      await this.noticeCrash();
      return;
    }
    try {
      this.sent += 1;
      const bytes = Buffer.isBuffer(wire.spec) ? wire.spec : requestBytes(wire.spec);
      const headOnly = !Buffer.isBuffer(wire.spec) && wire.spec.method === 'HEAD';
      await connection.send(bytes, { pieces: wire.pieces, gapMs: wire.gapMs, end: wire.end, headOnly });
      const result = await connection.answer(DEADLINE_MS);
      this.judge(wire.describe, result, wire.expect, testCase.kind);
      if (wire.expect.followUp && result.kind === 'answer' && !/close/i.test(result.answer.headers.connection ?? '')) {
        // The server kept the connection: it must answer the next request on it.
        if (!connection.closed) {
          this.sent += 1;
          await connection.send(requestBytes({ method: 'GET', target: '/' }));
          const next = await connection.answer(DEADLINE_MS);
          this.invariants.check(INVARIANTS.keepAlive, next.kind === 'answer', () => ({
            request: `${wire.describe}, answered ${result.answer.status} without "connection: close", then GET / on the same connection`,
            answer: describeResult(next),
          }));
          if (next.kind === 'answer') this.statuses.add(next.answer.status);
        }
      }
    } finally {
      connection.close();
    }
  }

  async runUpload(testCase: Extract<Case, { kind: 'upload' }>, worker: number, index: number): Promise<void> {
    const { server, options, live } = this;
    const client = new Client({ port: server.port, origin: server.origin, token: server.token }, DEADLINE_MS);
    const fileSize = (testCase.parts - 1) * options.partSize + testCase.tail;
    let session: SessionInfo | undefined;
    try {
      const result = await uploadOverWire(client, {
        fileName: `soak-${worker}-${index}.bin`,
        fileSize,
        seed: `soak:${options.seed}:${testCase.seed}`,
        order: orderOf(testCase.order, testCase.seed),
        listParts: testCase.list,
        finish: testCase.finish,
        readBack: true,
        deleteAfter: true,
        onSession: (info) => {
          session = info;
          live.sessions.push(info);
          live.allSessions.add(info.id);
        },
        observe: (step: Step) => {
          if (step.result.kind === 'answer') this.validLatency.add(step.result.answer.latencyMs);
          this.judge(step.request, step.result, { wantStatus: step.injected ? undefined : wanted(step.what) }, 'upload');
        },
      });
      this.uploads += result.outcome === 'committed' ? 1 : 0;
      const fileId = result.upload.fileId;
      if (fileId) live.allFiles.add(fileId);
      if (result.identical === true) this.identical += 1;
      if (result.identical === false)
        this.invariants.violate(INVARIANTS.bytesLost, {
          request: `upload of ${fileSize} bytes (${testCase.parts} parts, ${testCase.order})`,
          answer: `file ${fileId} read back differs`,
        });
    } finally {
      this.sent += client.sent;
      client.close();
      if (session) live.forget(session.id);
    }
  }

  async runRace(testCase: Extract<Case, { kind: 'abort-race' }>, worker: number, index: number): Promise<void> {
    const { server, options, live, invariants } = this;
    const address = { port: server.port, origin: server.origin, token: server.token };
    const committer = new Client(address, DEADLINE_MS);
    const aborter = new Client(address, DEADLINE_MS);
    const observe = (step: Step) =>
      this.judge(
        step.request,
        step.result,
        { wantStatus: step.injected || step.what === 'commit' || step.what === 'abort' ? undefined : wanted(step.what) },
        'abort-race',
      );
    const upload = new Upload(committer, `race-${worker}-${index}.bin`, testCase.parts * options.partSize, `race:${options.seed}:${testCase.seed}`, observe, 4);
    try {
      await upload.create();
      if (!upload.session) return;
      live.allSessions.add(upload.session.id);
      for (const part of upload.missing()) if (!(await upload.putPart(part)).ok) return;
      // The injected fault answers the first commit of every session with a 500: that one goes alone.
      const single = new Upload(committer, upload.fileName, upload.fileSize, upload.seed, observe, 1);
      single.session = upload.session;
      for (const [part, record] of upload.stored) single.stored.set(part, record);
      const first = await single.commit();
      if (first.ok || !first.injected) return;
      const abortView = new Upload(aborter, upload.fileName, upload.fileSize, upload.seed, observe, 1);
      abortView.session = upload.session;
      const [committed, aborted] = testCase.abortFirst
        ? await Promise.all([Promise.resolve().then(() => single.commit()), abortView.abort()]).then(([c, a]) => [c, a] as const)
        : await Promise.all([single.commit(), Promise.resolve().then(() => abortView.abort())]).then(([c, a]) => [c, a] as const);
      invariants.check(INVARIANTS.raceBothWon, !(committed.ok && aborted.ok), () => ({
        request: `POST …/${upload.session?.id}/commit and DELETE …/${upload.session?.id} at once`,
        answer: `commit: ${describeResult(committed.result)}; abort: ${describeResult(aborted.result)}`,
      }));
      if (committed.ok && single.fileId) {
        live.allFiles.add(single.fileId);
        const back = await single.readBack();
        invariants.check(INVARIANTS.raceLost, back.identical === true, () => ({ request: back.step.request, answer: describeResult(back.step.result) }));
        await single.deleteFile();
      }
    } finally {
      this.sent += committer.sent + aborter.sent;
      committer.close();
      aborter.close();
    }
  }

  /** Runs cases one after another until the request count or the time is reached. */
  async worker(id: number): Promise<void> {
    for (let index = 0; this.sent < this.options.requests && performance.now() < this.stopAt; index++) {
      if (this.restarting) await this.restarting;
      const testCase = this.nextCase();
      this.kinds.add(testCase.kind);
      if (testCase.kind === 'upload') await this.runUpload(testCase, id, index);
      else if (testCase.kind === 'abort-race') await this.runRace(testCase, id, index);
      else await this.runMalformed(testCase);
      if (!this.server.alive) await this.noticeCrash();
      if (performance.now() - this.#lastProgress > 10_000) {
        this.#lastProgress = performance.now();
        this.#log(
          `  ${this.sent.toLocaleString('en')} requests, ${((performance.now() - this.started) / 1000).toFixed(0)} s, server peak RSS ${mib(this.peakRss)}`,
        );
      }
    }
  }

  /** After the storm: the control API still answers, clean-up leaves nothing behind, the memory stayed in budget. */
  async finish(seconds: number, loris: { closed: number; of: number }): Promise<SectionResult> {
    const { options, live, invariants } = this;
    if (!this.server.alive) await this.noticeCrash();
    const traffic = await exchange(this.server.port, { method: 'GET', target: '/_control/traffic' }, { deadlineMs: DEADLINE_MS });
    invariants.check(INVARIANTS.controlFrozen, traffic.kind === 'answer' && traffic.answer.status === 200 && jsonOf(traffic.answer) !== undefined, () => ({
      request: 'GET /_control/traffic',
      answer: describeResult(traffic).slice(0, 300),
    }));
    const trafficBytes = traffic.kind === 'answer' ? traffic.answer.body.length : 0;
    await sleep(0);
    const cleanup = new Client({ port: this.server.port, origin: this.server.origin, token: this.server.token });
    for (const id of live.allSessions) await cleanup.send({ method: 'DELETE', target: `${API}/files/upload_sessions/${id}`, headers: [cleanup.auth] });
    for (const id of live.allFiles) await cleanup.send({ method: 'DELETE', target: `${API}/files/${id}`, headers: [cleanup.auth] });
    cleanup.close();
    const left = await filesUnder(options.storageDir);
    invariants.check(INVARIANTS.orphans, left === 0, () => ({
      request: `abort ${live.allSessions.size} sessions, delete ${live.allFiles.size} files`,
      answer: `${left} files remain under ${options.storageDir}`,
    }));
    clearInterval(this.#rssTimer);
    this.peakRss = Math.max(this.peakRss, await this.server.samplePeakRss());
    await this.server.stop();
    invariants.check(INVARIANTS.memory, this.peakRss < options.maxPeakRssMiB, () => ({
      request: `${this.sent.toLocaleString('en')} requests`,
      answer: `peak RSS ${mib(this.peakRss)}, budget ${options.maxPeakRssMiB} MiB`,
    }));

    const latencies = this.validLatency.values;
    const { sent } = this;
    return {
      title: `generated requests (seed ${options.seed}, ${options.concurrency} concurrent, ${options.slowLoris} slow-loris connections open throughout)`,
      lines: [
        `${sent.toLocaleString('en')} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)}/s); cases: ${this.kinds.format('count')}`,
        `answers by status: ${this.statuses.format()}`,
        `5xx from injected faults: ${this.injected.toLocaleString('en')}`,
        `valid uploads committed: ${this.uploads.toLocaleString('en')}, read back identical: ${this.identical.toLocaleString('en')}`,
        `latency of valid requests: p50 ${ms(percentile(latencies, 50))}, p95 ${ms(percentile(latencies, 95))}, p99 ${ms(percentile(latencies, 99))}`,
        `slow-loris connections closed by the server during the run: ${loris.closed} of ${loris.of}`,
        `GET /_control/traffic afterwards: ${(trafficBytes / MiB).toFixed(1)} MiB`,
        `server peak RSS (VmHWM): ${mib(this.peakRss)}${this.crashes.length > 0 ? ` (highest of ${this.crashes.length + 1} server processes)` : ''}`,
      ],
      invariants: invariants.all(),
    };
  }
}

function wanted(what: Step['what']): number {
  switch (what) {
    case 'create':
    case 'commit':
      return 201;
    case 'abort':
    case 'delete':
      return 204;
    default:
      return 200;
  }
}
