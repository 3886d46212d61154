import { type HttpMethod, type HttpRequest, type JsonResponse, type SendResult, type Transport, describeResponse } from '../http/transport.ts';
import { parseContentRange } from '../protocol/content-range.ts';
import { committedFileIdOf, partRecordOf, partsPageOf } from '../protocol/answers.ts';
import { pagesOfParts } from '../protocol/paging.ts';
import { JSON_CONTENT_TYPE, UPLOAD_SESSIONS_PATH, commitBody, createSessionBody, partHeaders } from '../protocol/requests.ts';
import { digestHeaderFor, sha1Of } from '../protocol/digest.ts';
import { partAt, totalPartsFor } from '../protocol/parts.ts';
import { type UploadPart, type UploadSession, isRecord, unusableSessionProblem } from '../protocol/shapes.ts';
import { seededBytes } from '../protocol/seeded-bytes.ts';
import { PROBE_RETRY_POLICY, awaitCommit, outcomeOf, retrying } from '../http/retry.ts';
import { ANSWER_RULE, AnswerDeadline, Blocked, DEFAULT_ANSWER_BUDGET_MS, GaveUpWaiting, type RequestKind, RunPatience } from './budget.ts';
import { type Credentials, type ExpectedPart, type Expectation, type ProbeExchange, changesState } from './exchange.ts';
import type { FileShape } from './spaces.ts';

export type { Credentials } from './exchange.ts';
export { Blocked } from './budget.ts';

/** A server the kit grades: where it is, how to reach it, and what it may create there. */
export interface ServerTarget {
  /** API base, e.g. https://upload.box.com/api/2.0 */
  baseUrl: string;
  /** Where `DELETE /files/{id}` and `GET /files/{id}/content` go (Box's API host for Box's upload host). */
  apiBaseUrl: string;
  token: string;
  folderId: string;
  /** Every file the kit creates is named with this prefix, so that a live run's files are recognisable. */
  namePrefix: string;
  /** Bytes of every uploaded file derive from it, so that a recorded run can be replayed. */
  seed: string;
  transport: Transport;
  /** The longest the kit waits for one answer, 429 and 202 Retry-After waits included (default 60 s). */
  answerBudgetMs?: number;
  /** How widely the probe spaces are covered: `default`, or `wide` (every case, and more generated sequences). */
  depth?: ServerDepth;
  /** The generated sequences' fast-check seed (a fixed one by default). */
  sequenceSeed?: number;
}

export type ServerDepth = 'default' | 'wide';

/** What every probe of one run shares: its patience with the server, and a counter that keeps file names unique across scenarios. */
interface RunShared {
  patience: RunPatience;
  files: number;
  /** The part_size the server hands out for the kit's files, once learned. */
  partSize?: number;
  /** Whether the server opens sessions for files under Box's 20 MB minimum: the kit's files are then a few parts. */
  smallFiles?: boolean;
}
const RUNS = new WeakMap<ServerTarget, RunShared>();
function runShared(target: ServerTarget): RunShared {
  let shared = RUNS.get(target);
  if (!shared) {
    shared = { patience: new RunPatience(target.answerBudgetMs ?? DEFAULT_ANSWER_BUDGET_MS), files: 0 };
    RUNS.set(target, shared);
  }
  return shared;
}

export const WRONG_TOKEN = 'not-the-token-0000';
/** What every request without the right token must get. */
const AUTH_REFUSAL: Expectation = { kind: 'refusal', rule: 'S-AUTH', status: 401 };
/** What every call about a session the kit aborted must get. */
const ABORTED_REFUSAL: Expectation = { kind: 'refusal', rule: 'S-ABORT' };

/** The smallest file Box accepts in a session is 20 MB; the kit's files are a little larger. */
export const PROBE_FILE_SIZE = 21_000_000;
export const BOX_MIN_FILE_SIZE = 20_000_000;

/**
 * A file of `shape` for `partSize`: at least 3 parts, and 21 MB unless the server takes smaller files (but
 * the single part, and the file over 20 MB whatever the server takes).
 */
export function fileSizeFor(shape: FileShape, partSize: number, smallFiles = false): number {
  const whole = Math.max(3, smallFiles ? 0 : Math.ceil(PROBE_FILE_SIZE / partSize)) * partSize;
  switch (shape) {
    case 'over 20 MB':
      return fileSizeFor('half a part over', partSize);
    case 'exact multiple':
      return whole;
    case 'one byte over':
      return whole + 1;
    case 'one byte under':
      return whole - 1;
    case 'half a part over':
      return whole + Math.ceil(partSize / 2);
    case 'a single part':
      return Math.ceil(partSize / 2);
  }
}
/** Parts the kit sends at once when it only needs them stored (as a client would: 3 to 5). */
const STORE_CONCURRENCY = 4;
export { MAX_LIST_LIMIT } from '../protocol/paging.ts';

/** A session the probe opened, with the file it stands for. */
export interface ProbeSession {
  session: UploadSession;
  fileSize: number;
  /** Seed of this file's bytes. */
  seed: string;
  name: string;
}

/** The server gave no answer at all (the connection failed or was dropped). */
export class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/** The kit's picture of a session: the parts it sent that the server acknowledged. */
interface SessionModel {
  /** `aborted`: every later call must be refused (S-ABORT); `closed`: committed, or given up. */
  state: 'open' | 'closed' | 'aborted';
  readonly parts: Map<number, ExpectedPart>;
  /** From this exchange on, the session may hold what the kit did not mean to store: stateful answers are not judged. */
  divergedAt?: number;
}

/** A listing followed page by page. */
export interface Listing {
  entries: Record<string, unknown>[];
  /** total_count of every page, in order. */
  totalCounts: unknown[];
  /** The pages' exchange indexes. */
  requests: number[];
}

export interface SendSpec {
  kind: RequestKind;
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  credentials?: Credentials;
  expect?: Expectation;
  /** The upload session the request is about. */
  session?: string;
  hashResponseBody?: boolean;
  /** The body's hex SHA-1, when the caller has it already. */
  bodySha1?: string;
  /** Share an answer's budget across several requests (a commit and the 202s before its answer). */
  deadline?: AnswerDeadline;
  /** The probe case or generated step the request belongs to. */
  label?: string;
  /** How the bytes of a binary body are made, for a reproduction. */
  bytes?: string;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * Crafted requests to a server under test. Every exchange is kept with what the kit sent and what it
 * expects back (src/probe/exchange.ts), so that every answer can be judged; the expectations come from
 * what the kit sent, never from the server's own answers. Tracks what it opened and created so that
 * `cleanUp` leaves a live server as it found it. Waits out 429s (and a commit's 202s) for as long as the
 * server asks, within the answer budget.
 */
export class ServerProbe {
  readonly exchanges: ProbeExchange[] = [];
  readonly #models = new Map<string, SessionModel>();
  readonly #openSessions = new Map<string, UploadSession>();
  readonly #createdFiles = new Set<string>();
  readonly #wholeFiles = new Map<string, { sha1: Buffer; size: number }>();
  #label?: string;

  constructor(
    readonly target: ServerTarget,
    readonly scenarioTag: string,
  ) {}

  get budgetMs(): number {
    return runShared(this.target).patience.budget();
  }

  get depth(): ServerDepth {
    return this.target.depth ?? 'default';
  }

  /** Labels the requests `work` sends (a probe case, a generated step), for findings and reproductions. */
  async labelled<T>(label: string, work: () => Promise<T>): Promise<T> {
    const outer = this.#label;
    this.#label = label;
    try {
      return await work();
    } finally {
      this.#label = outer;
    }
  }

  async send(spec: SendSpec): Promise<JsonResponse> {
    const { patience } = runShared(this.target);
    patience.assertAnswering(spec.kind);
    const credentials = spec.credentials ?? 'token';
    const headers = { ...this.#authorization(credentials), ...spec.headers };
    const shown = { ...headers, ...(headers.authorization === undefined ? {} : { authorization: this.#shownAuthorization(credentials) }) };
    const sent = {
      headers: shown,
      ...(typeof spec.body === 'string' ? { json: spec.body } : {}),
      ...(spec.body !== undefined && typeof spec.body !== 'string' ? { bytes: spec.bytes ?? `${spec.body.length} bytes` } : {}),
    };
    const request: HttpRequest = { method: spec.method, url: spec.url, headers, body: spec.body, hashResponseBody: spec.hashResponseBody };
    const contentRange = spec.headers?.['content-range'];
    const described = `${spec.method} ${spec.url}${contentRange ? ` (Content-Range: ${contentRange})` : ''}${
      credentials === 'none' ? ' without a token' : credentials === 'wrong' ? ' with a wrong token' : ''
    }`;
    const parsedRange = parseContentRange(contentRange);
    const bodyBytes = spec.body === undefined ? Buffer.alloc(0) : typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
    const deadline = spec.deadline ?? new AnswerDeadline(this.budgetMs, `the answer to ${described}`);
    const attemptOnce = async (): Promise<{ exchange: ProbeExchange; response: JsonResponse }> => {
      const exchange: ProbeExchange = {
        index: this.exchanges.length,
        request: described,
        method: spec.method,
        url: spec.url,
        credentials,
        range: parsedRange.ok ? parsedRange.value : undefined,
        body: { length: bodyBytes.length, sha1: spec.bodySha1 ?? sha1Of(bodyBytes).toString('hex') },
        session: spec.session,
        expect: spec.expect ?? { kind: 'any' },
        sent,
        ...((spec.label ?? this.#label) ? { label: spec.label ?? this.#label } : {}),
      };
      this.exchanges.push(exchange);
      let result: SendResult;
      try {
        result = await deadline.within(this.target.transport.send(request));
      } catch (error) {
        if (error instanceof GaveUpWaiting) this.#hang(exchange, spec.kind, `no answer came within ${seconds(deadline.budgetMs)} s`);
        throw error;
      }
      if (!result.ok) {
        if (/timeout/i.test(result.failure)) this.#hang(exchange, spec.kind, `no answer came within ${seconds(deadline.budgetMs)} s (${result.failure})`);
        exchange.failure = result.failure;
        throw new NoAnswer(`${described}: no answer (${result.failure})`);
      }
      exchange.response = result.response;
      return { exchange, response: result.response };
    };
    // A rate limit is not the server's answer to the request, nor, for a request that should succeed, a
    // transient server error: both are waited out (PROBE_RETRY_POLICY); a refusal's 5xx is its answer.
    const policy = spec.expect?.kind === 'refusal' ? { ...PROBE_RETRY_POLICY, maxAttempts: 1 } : PROBE_RETRY_POLICY;
    const { result } = await retrying(attemptOnce, ({ response }) => outcomeOf({ ok: true, response }), policy, {
      beforeWait: (waitMs, { exchange, response }) =>
        this.#waitOut(exchange, deadline, waitMs, `the server answered ${response.status} and the kit would wait ${seconds(waitMs)} s more`),
    });
    this.#learn(result.exchange, result.response);
    return result.response;
  }

  /**
   * The answer hung: the rule it owed fails (the refusal's own rule, else the endpoint's), the endpoint is
   * not called again in this run, and the step ends, blocked by that rule.
   */
  #hang(
    exchange: ProbeExchange,
    kind: RequestKind,
    reason: string,
    rule = exchange.expect.kind === 'refusal' ? exchange.expect.rule : ANSWER_RULE[kind],
  ): never {
    exchange.hung = { rule, reason };
    runShared(this.target).patience.hung(kind, rule, `${exchange.request}: ${reason}`);
    throw new Blocked([rule], `${exchange.request}: ${reason}`);
  }

  #waitOut(exchange: ProbeExchange, deadline: AnswerDeadline, waitMs: number, why: string): void {
    try {
      deadline.assertCanWait(waitMs, why);
    } catch (error) {
      exchange.gaveUp = true;
      throw error;
    }
    exchange.waitedOut = true;
  }

  /** What an answer tells the kit about the session it concerns. */
  #learn(exchange: ProbeExchange, response: JsonResponse): void {
    const model = exchange.session === undefined ? undefined : this.#models.get(exchange.session);
    if (!model || exchange.session === undefined) return;
    const accepted = response.status >= 200 && response.status < 300;
    if (exchange.expect.kind === 'part' && response.status === 200 && exchange.range) {
      const part = partRecordOf(response.body);
      const partId = isRecord(part) && typeof part.part_id === 'string' && part.part_id !== '' ? part.part_id : undefined;
      const answeredSha1 = isRecord(part) && typeof part.sha1 === 'string' && part.sha1 !== exchange.body.sha1 ? part.sha1 : undefined;
      model.parts.set(exchange.range.lo, { offset: exchange.range.lo, size: exchange.body.length, sha1: exchange.body.sha1, partId, answeredSha1 });
    }
    if (exchange.expect.kind === 'refusal' && accepted && changesState(exchange.method)) this.diverge(exchange.session, exchange.index);
    if (exchange.method === 'POST' && response.status === 201) {
      model.state = 'closed';
      this.#openSessions.delete(exchange.session);
      const id = committedFileIdOf(response.body);
      if (id !== undefined) this.#createdFiles.add(id);
    }
    if (exchange.method === 'DELETE' && response.status === 204 && exchange.expect.kind === 'abort') {
      model.state = 'aborted';
      this.#openSessions.delete(exchange.session);
    }
  }

  /** From exchange `index` on, the session may hold what the kit did not mean to store (a rule broken there says what). */
  diverge(sessionId: string, index: number): void {
    const model = this.#models.get(sessionId);
    if (model && (model.divergedAt === undefined || index < model.divergedAt)) model.divergedAt = index;
  }

  /** Exchange index from which each diverged session's stateful answers are not judged. */
  divergences(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, model] of this.#models) if (model.divergedAt !== undefined) out[id] = model.divergedAt;
    return out;
  }

  #authorization(credentials: Credentials): Record<string, string> {
    switch (credentials) {
      case 'none':
        return {};
      case 'wrong':
        return { authorization: `Bearer ${WRONG_TOKEN}` };
      case 'no-scheme':
        return { authorization: this.target.token };
      case 'other-scheme':
        return { authorization: `Token ${this.target.token}` };
      case 'empty-bearer':
        return { authorization: 'Bearer ' };
      case 'token':
        return { authorization: `Bearer ${this.target.token}` };
    }
  }

  /** The Authorization header as a reproduction shows it: never the token. */
  #shownAuthorization(credentials: Credentials): string {
    return this.#authorization(credentials).authorization?.replace(this.target.token, '$TOKEN') ?? '';
  }

  #model(file: ProbeSession): SessionModel {
    const model = this.#models.get(file.session.id);
    if (!model) throw new Error(`session ${file.session.id} was not opened by this probe`);
    return model;
  }

  /** The parts the server acknowledged in the session, by offset, as the kit sent them. */
  expectedParts(file: ProbeSession): ExpectedPart[] {
    return [...this.#model(file).parts.values()].sort((a, b) => a.offset - b.offset);
  }

  /** Whether the kit aborted the session: every later call must be refused. */
  #aborted(sessionId: string): boolean {
    const model = this.#models.get(sessionId);
    return model?.state === 'aborted' && model.divergedAt === undefined;
  }

  /** Whether the session's answers are still judged against what the kit sent (open, and not diverged). */
  #tracked(sessionId: string): boolean {
    const model = this.#models.get(sessionId);
    return model?.state === 'open' && model.divergedAt === undefined;
  }

  /** A request without the token must be refused with 401; with it, `whenTracked` while the session is as the kit made it. */
  #expectation(sessionId: string, credentials: Credentials, whenTracked: () => Expectation): Expectation {
    if (credentials !== 'token') return AUTH_REFUSAL;
    if (this.#aborted(sessionId)) return ABORTED_REFUSAL;
    return this.#tracked(sessionId) ? whenTracked() : { kind: 'any' };
  }

  /** A file name no other scenario of the run uses: one scenario's leftovers never collide with another's files. */
  nextFileName(): string {
    const shared = runShared(this.target);
    shared.files += 1;
    return `${this.target.namePrefix}${this.scenarioTag}-${shared.files}.bin`;
  }

  createBody(fileSize: number, name: string): Record<string, unknown> {
    return { ...createSessionBody(this.target.folderId, name, fileSize) };
  }

  /** POSTs a create; `expect` says what the body was crafted for (default: a valid create, answered with a session). */
  async createRaw(body: unknown, credentials: Credentials = 'token', expect?: Expectation): Promise<JsonResponse> {
    const response = await this.send({
      kind: 'create',
      method: 'POST',
      url: `${this.target.baseUrl}${UPLOAD_SESSIONS_PATH}`,
      headers: { ...JSON_CONTENT_TYPE },
      body: JSON.stringify(body),
      credentials,
      expect:
        expect ??
        (credentials !== 'token' ? AUTH_REFUSAL : { kind: 'session', fileSize: isRecord(body) && typeof body.file_size === 'number' ? body.file_size : 0 }),
    });
    const session = response.body as UploadSession | undefined;
    if (response.status === 201 && unusableSessionProblem(session) === undefined && session) {
      this.#openSessions.set(session.id, session);
      this.#models.set(session.id, { state: 'open', parts: new Map() });
    }
    return response;
  }

  /**
   * Opens a session for a file of at least `minParts` parts and at least 20 MB (as Box requires), asking
   * again for a larger file when the server's part_size makes too few parts.
   */
  async openSession(minParts = 3, minFileSize = 0): Promise<ProbeSession> {
    const known = await this.#knownServer();
    let fileSize = Math.max(minFileSize, known.smallFiles ? (minParts - 1) * known.partSize + Math.ceil(known.partSize / 2) : PROBE_FILE_SIZE);
    for (let tries = 0; tries < 3; tries++) {
      const name = this.nextFileName();
      const session = this.#sessionOf(await this.createRaw(this.createBody(fileSize, name)));
      if (totalPartsFor(fileSize, session.part_size) >= minParts) return { session, fileSize, seed: `${this.target.seed}:${name}`, name };
      await this.abort(session);
      fileSize = Math.max(fileSize, (minParts - 1) * session.part_size + Math.ceil(session.part_size / 2));
    }
    throw new Blocked(['S-CREATE'], `the server would not cut a file into ${minParts} parts`);
  }

  /**
   * Opens a session for a file of `shape` at the server's part_size (learned from a first create, and
   * again when a size gets another part_size). Undefined when the server refuses a single-part file under
   * Box's 20 MB minimum, as it may.
   */
  async openShaped(shape: FileShape): Promise<ProbeSession | undefined> {
    const shared = runShared(this.target);
    const { smallFiles, ...known } = await this.#knownServer();
    let { partSize } = known;
    for (let tries = 0; tries < 3; tries++) {
      const fileSize = fileSizeFor(shape, partSize, smallFiles);
      const name = this.nextFileName();
      const mayRefuse = fileSize < BOX_MIN_FILE_SIZE;
      const response = await this.createRaw(this.createBody(fileSize, name), 'token', { kind: 'session', fileSize, mayRefuse });
      if (mayRefuse && response.status >= 400 && response.status < 500) return undefined;
      const session = this.#sessionOf(response);
      if (session.part_size === partSize) return { session, fileSize, seed: `${this.target.seed}:${name}`, name };
      await this.abort(session);
      partSize = shared.partSize = session.part_size;
    }
    throw new Blocked(['S-CREATE'], `the server's part_size changed with every file size asked for (${shape})`);
  }

  /** The upload_session a create was answered with, or Blocked by S-CREATE when it cannot be used. */
  #sessionOf(response: JsonResponse): UploadSession {
    const problem = response.status === 201 ? unusableSessionProblem(response.body) : describeResponse(response);
    if (problem) throw new Blocked(['S-CREATE'], `could not open an upload session: ${problem}`);
    return response.body as UploadSession;
  }

  /**
   * The server's part_size, and whether it opens sessions for files under Box's 20 MB minimum: learned once
   * a run, from a create of 21 MB and one of three and a half parts (each aborted).
   */
  async #knownServer(): Promise<{ partSize: number; smallFiles: boolean }> {
    const shared = runShared(this.target);
    if (shared.partSize === undefined) {
      const session = this.#sessionOf(await this.createRaw(this.createBody(PROBE_FILE_SIZE, this.nextFileName())));
      shared.partSize = session.part_size;
      await this.abort(session);
    }
    if (shared.smallFiles === undefined) {
      const fileSize = fileSizeFor('half a part over', shared.partSize, true);
      if (fileSize >= BOX_MIN_FILE_SIZE) shared.smallFiles = true;
      else {
        const response = await this.createRaw(this.createBody(fileSize, this.nextFileName()), 'token', { kind: 'session', fileSize, mayRefuse: true });
        shared.smallFiles = response.status === 201;
        const session = response.body as UploadSession | undefined;
        if (response.status === 201 && session && unusableSessionProblem(session) === undefined) await this.abort(session);
      }
    }
    return { partSize: shared.partSize, smallFiles: shared.smallFiles };
  }

  /** Whether the kit still knows what the session holds: open, and nothing stored that it did not mean to store. */
  usable(file: ProbeSession): boolean {
    return this.#tracked(file.session.id);
  }

  partCount(file: ProbeSession): number {
    return totalPartsFor(file.fileSize, file.session.part_size);
  }

  /** The bytes of part `number` (1-based) as the plan cuts them. */
  partBytes(file: ProbeSession, number: number): { offset: number; bytes: Buffer } {
    const part = partAt(number - 1, file.fileSize, file.session.part_size);
    return { offset: part.offset, bytes: seededBytes(file.seed, part.offset, part.size) };
  }

  bytesAt(file: ProbeSession, offset: number, length: number): Buffer {
    return seededBytes(file.seed, offset, length);
  }

  /** Bytes of the same length that are not the file's: what an overlapping part with other content sends. */
  otherBytesAt(file: ProbeSession, offset: number, length: number): Buffer {
    return seededBytes(`${file.seed}:other`, offset, length);
  }

  /** The SHA-1 of the whole file, as the kit sends it (computed once per session). */
  wholeFileSha1(file: ProbeSession): Buffer {
    let whole = this.#wholeFiles.get(file.session.id);
    if (!whole) {
      whole = { sha1: sha1Of(this.bytesAt(file, 0, file.fileSize)), size: file.fileSize };
      this.#wholeFiles.set(file.session.id, whole);
    }
    return whole.sha1;
  }

  wholeFileDigest(file: ProbeSession): string {
    return digestHeaderFor(this.wholeFileSha1(file));
  }

  /**
   * PUTs `body` with the headers a correct client would send, each of which `overrides` may replace or
   * drop (undefined). `expect` defaults to what the kit's picture of the session says: a correct part into
   * a free range is expected stored, one into an acknowledged range refused as an overlap.
   */
  async putPart(
    file: ProbeSession,
    range: { lo: number; hi: number },
    body: Buffer,
    overrides: Record<string, string | undefined> = {},
    credentials: Credentials = 'token',
    expect?: Expectation,
  ): Promise<JsonResponse> {
    const sha1 = sha1Of(body);
    const headers: Record<string, string | undefined> = { ...partHeaders(range.lo, range.hi - range.lo + 1, file.fileSize, sha1), ...overrides };
    const present = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
    return this.send({
      kind: 'part',
      method: 'PUT',
      url: file.session.session_endpoints.upload_part,
      headers: present,
      body,
      bodySha1: sha1.toString('hex'),
      bytes: `${body.length} bytes sent for bytes ${range.lo}-${range.hi}; the file's bytes are seededBytes("${file.seed}", offset, length) (src/protocol/seeded-bytes.ts)`,
      credentials,
      session: file.session.id,
      expect: expect ?? (credentials !== 'token' ? AUTH_REFUSAL : this.#partExpectation(file, range)),
    });
  }

  #partExpectation(file: ProbeSession, range: { lo: number; hi: number }): Expectation {
    if (this.#aborted(file.session.id)) return ABORTED_REFUSAL;
    const model = this.#model(file);
    const overlaps = [...model.parts.values()].some((part) => range.lo < part.offset + part.size && part.offset <= range.hi);
    if (overlaps) return { kind: 'refusal', rule: 'S-OVERLAP-REJECT', status: 416, code: 'range_overlaps_existing_part' };
    return model.state === 'open' ? { kind: 'part' } : { kind: 'any' };
  }

  /** Sends part `number` correctly; returns the answer. */
  async sendPart(file: ProbeSession, number: number, credentials: Credentials = 'token'): Promise<JsonResponse> {
    const { offset, bytes } = this.partBytes(file, number);
    return this.putPart(file, { lo: offset, hi: offset + bytes.length - 1 }, bytes, {}, credentials);
  }

  /** Sends parts `numbers` correctly, a few at a time, and insists that each was stored. */
  async storeParts(file: ProbeSession, numbers: readonly number[]): Promise<void> {
    const queue = [...numbers];
    const worker = async () => {
      for (let number = queue.shift(); number !== undefined; number = queue.shift()) {
        const response = await this.sendPart(file, number).catch((error: unknown) => {
          queue.length = 0;
          if (error instanceof NoAnswer) throw new Blocked(['S-PART-OK'], `part ${number} was not stored: ${error.message}`);
          throw error;
        });
        if (response.status !== 200) {
          // The first failure ends the step: send no more parts.
          queue.length = 0;
          throw new Blocked(['S-PART-OK'], `part ${number} was not stored: ${describeResponse(response)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STORE_CONCURRENCY, numbers.length) }, worker));
  }

  /** One page of the session's parts. */
  async listParts(file: ProbeSession, query: { offset?: number; limit?: number } = {}, credentials: Credentials = 'token'): Promise<JsonResponse> {
    const url = new URL(file.session.session_endpoints.list_parts);
    if (query.offset !== undefined) url.searchParams.set('offset', String(query.offset));
    if (query.limit !== undefined) url.searchParams.set('limit', String(query.limit));
    return this.send({
      kind: 'list',
      method: 'GET',
      url: url.toString(),
      credentials,
      session: file.session.id,
      expect: this.#expectation(file.session.id, credentials, () => ({ kind: 'listing', parts: this.expectedParts(file), query })),
    });
  }

  /**
   * Every page of the session's parts: `limit` parts a page when given, otherwise the server's default page
   * (`pageSize` parts, advancing `offset` alone). Throws Blocked (S-LIST-PARTS) when a page is not a listing.
   */
  async listAll(file: ProbeSession, paging: { limit: number } | { pageSize: number }): Promise<Listing> {
    const step = 'limit' in paging ? paging.limit : paging.pageSize;
    const listing: Listing = { entries: [], totalCounts: [], requests: [] };
    const readPage = async (offset: number) => {
      const page = await this.listParts(file, 'limit' in paging ? { offset, limit: paging.limit } : offset === 0 ? {} : { offset });
      listing.requests.push(this.exchanges.length - 1);
      const read = page.status === 200 ? partsPageOf(page.body) : undefined;
      if (!read) throw new Blocked(['S-LIST-PARTS'], `the session's parts could not be listed: ${describeResponse(page)}`);
      return read;
    };
    // Pages until the parts the kit stored (or the server claims) are covered, and no further.
    for await (const page of pagesOfParts(readPage, { step, expected: this.#model(file).parts.size, extraPages: 2 })) {
      listing.entries.push(...page.entries.filter(isRecord));
      listing.totalCounts.push(page.totalCount);
    }
    return listing;
  }

  async status(file: ProbeSession, credentials: Credentials = 'token'): Promise<JsonResponse> {
    return this.send({
      kind: 'status',
      method: 'GET',
      url: file.session.session_endpoints.status,
      credentials,
      session: file.session.id,
      expect: this.#expectation(file.session.id, credentials, () => ({ kind: 'status', sessionId: file.session.id, processed: this.#model(file).parts.size })),
    });
  }

  /** The part records a correct client commits: what it sent, with the part_id the server gave each part. */
  commitParts(file: ProbeSession): UploadPart[] {
    return this.expectedParts(file).map((part) => {
      // Never commit on the strength of a record the kit could not read: that is S-PART-OK's failure, not the commit's.
      if (part.partId === undefined) throw new Blocked(['S-PART-OK'], `the answer to the part at offset ${part.offset} gave no part_id the kit could commit`);
      return { part_id: part.partId, offset: part.offset, size: part.size, sha1: part.sha1 };
    });
  }

  /**
   * Commits `parts` (default: every acknowledged part) with `digest` (undefined: no Digest header), waiting
   * out 202s within the answer budget, and returns the final answer. What the kit expects follows from
   * what it sends: a commit covering the file with its right Digest is expected to create the file.
   */
  async commit(
    file: ProbeSession,
    options: { digest: string | undefined; parts?: readonly UploadPart[]; credentials?: Credentials; expect?: Expectation },
  ): Promise<JsonResponse> {
    const credentials = options.credentials ?? 'token';
    const parts = options.parts ?? this.commitParts(file);
    const headers: Record<string, string> = { ...JSON_CONTENT_TYPE };
    if (options.digest !== undefined) headers.digest = options.digest;
    const expect = options.expect ?? this.#commitExpectation(file, parts, options.digest, credentials);
    const url = file.session.session_endpoints.commit;
    const deadline = new AnswerDeadline(this.budgetMs, `the answer to POST ${url} (the commit)`);
    const sendCommit = () =>
      this.send({ kind: 'commit', method: 'POST', url, headers, body: commitBody(parts), credentials, session: file.session.id, expect, deadline });
    return awaitCommit(sendCommit, {
      beforeWait: (waitMs, _response, waits) => {
        const last = this.exchanges.at(-1);
        if (!last) throw new Error('a commit answered without an exchange');
        const accepted = waits + 1;
        // 202s the kit waited out and then ran out of budget for: the commit never completes (S-COMMIT-OK). A first
        // wait longer than the budget is the kit's limit instead (raise --timeout).
        if (accepted > 1 && waitMs >= deadline.remainingMs()) {
          last.waitedOut = true;
          this.#hang(
            last,
            'commit',
            `answered 202 ${accepted} times over ${seconds(deadline.budgetMs - deadline.remainingMs())} s, never the commit's outcome`,
            'S-COMMIT-OK',
          );
        }
        this.#waitOut(last, deadline, waitMs, `the server answered 202 and asked to commit again after ${seconds(waitMs)} s`);
      },
    });
  }

  #commitExpectation(file: ProbeSession, parts: readonly UploadPart[], digest: string | undefined, credentials: Credentials): Expectation {
    if (credentials !== 'token') return AUTH_REFUSAL;
    if (this.#aborted(file.session.id)) return ABORTED_REFUSAL;
    let covered = 0;
    for (const part of [...parts].sort((a, b) => a.offset - b.offset)) if (part.offset === covered) covered += part.size;
    const stored = this.#model(file).parts;
    const allStored = parts.every((part) => stored.get(part.offset)?.size === part.size);
    if (covered !== file.fileSize || !allStored) return { kind: 'refusal', rule: 'S-COMMIT-INCOMPLETE-REJECT' };
    if (digest !== this.wholeFileDigest(file)) return { kind: 'refusal', rule: 'S-COMMIT-DIGEST-REJECT' };
    if (!this.#tracked(file.session.id)) return { kind: 'any' };
    return { kind: 'file', size: file.fileSize, sha1: this.wholeFileSha1(file).toString('hex') };
  }

  /**
   * Downloads a committed file (`GET {apiBaseUrl}/files/{id}/content`), hashing it as it arrives. Only a 200
   * is the content; a server that does not serve files this way answers something else.
   */
  async readContent(fileId: string, expected?: { size: number; sha1: string }): Promise<JsonResponse> {
    return this.send({
      kind: 'file',
      method: 'GET',
      url: `${this.target.apiBaseUrl}/files/${encodeURIComponent(fileId)}/content`,
      hashResponseBody: true,
      expect: expected ? { kind: 'content', ...expected } : { kind: 'any' },
    });
  }

  async abort(session: UploadSession, credentials: Credentials = 'token'): Promise<JsonResponse> {
    return this.send({
      kind: 'abort',
      method: 'DELETE',
      url: session.session_endpoints.abort,
      credentials,
      session: session.id,
      expect: this.#expectation(session.id, credentials, () => ({ kind: 'abort' })),
    });
  }

  /** Aborts every session still open and deletes every file created; returns what could not be undone. */
  async cleanUp(): Promise<string[]> {
    const left: string[] = [];
    for (const session of [...this.#openSessions.values()]) {
      const response = await this.abort(session).catch((error: unknown) => error);
      if (!isAnswer(response) || (response.status !== 204 && response.status !== 404)) left.push(`session ${session.id}`);
      this.#openSessions.delete(session.id);
    }
    for (const id of [...this.#createdFiles]) {
      const response = await this.send({ kind: 'file', method: 'DELETE', url: `${this.target.apiBaseUrl}/files/${encodeURIComponent(id)}` }).catch(
        (error: unknown) => error,
      );
      if (isAnswer(response) && (response.status === 204 || response.status === 404)) this.#createdFiles.delete(id);
      else left.push(`file ${id}`);
    }
    return left;
  }
}

function isAnswer(value: unknown): value is JsonResponse {
  return typeof value === 'object' && value !== null && 'status' in value;
}
