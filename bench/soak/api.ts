// Well-formed Box upload-session requests over raw connections (wire.ts), for the soak's valid traffic:
// a whole upload (create, parts, list, commit, read back, delete) whose every answer is observed.
import { createHash } from 'node:crypto';
import { type AttemptOutcome, DEFAULT_RETRY_POLICY, type RetryPolicy, retrying } from '../../src/http/retry.ts';
import { committedFileIdOf, errorCodeOf, errorMessageOf, partRecordOf, partsPageOf } from '../../src/protocol/answers.ts';
import { sha1Of } from '../../src/protocol/digest.ts';
import { MAX_LIST_LIMIT, pagesOfParts } from '../../src/protocol/paging.ts';
import { partAt, totalPartsFor } from '../../src/protocol/parts.ts';
import { JSON_CONTENT_TYPE, UPLOAD_SESSIONS_PATH, commitBody, commitHeaders, createSessionBody, partHeaders } from '../../src/protocol/requests.ts';
import { retryAfterMs } from '../../src/protocol/retry-after.ts';
import { seededBytes } from '../../src/protocol/seeded-bytes.ts';
import { isRecord } from '../../src/protocol/shapes.ts';
import { describeRequest } from './figures.ts';
import { type RequestSpec, type WireAnswer, WireConnection, type WireResult, jsonOf, requestBytes } from './wire.ts';

export interface ServerAddress {
  port: number;
  origin: string;
  token: string;
}

export const API = '/api/2.0';

/** One request of a valid upload and its answer. */
export interface Step {
  what: 'create' | 'part' | 'list' | 'status' | 'commit' | 'content' | 'abort' | 'delete';
  request: string;
  result: WireResult;
  /** The answer the step was after (201 for create, 200 for a part, …). */
  ok: boolean;
  /** An answer from the server's fault plan ("Injected fault", or a 429 rate limit it injected). */
  injected: boolean;
}

export const isInjected = (answer: WireAnswer) => {
  const body = jsonOf(answer);
  return errorMessageOf(body)?.startsWith('Injected fault') === true || errorCodeOf(body) === 'rate_limit_exceeded';
};

/** Without a Keep-Alive header, Node's default. A connection is given up 2 s before the server would close it (undici's keepAliveTimeoutThreshold). */
const DEFAULT_KEEP_ALIVE_MS = 5_000;
const KEEP_ALIVE_MARGIN_MS = 2_000;

/** Requests on one keep-alive connection, reopened whenever the server closed it or asked to. */
export class Client {
  #connection: WireConnection | undefined;
  #idleSince = 0;
  #keepAliveMs = DEFAULT_KEEP_ALIVE_MS;
  sent = 0;
  constructor(
    readonly server: ServerAddress,
    private readonly deadlineMs = 10_000,
    /** When set, a request with a body sends its headers and half the body, awaits this, then the rest. */
    private readonly halfway?: () => Promise<void>,
  ) {}

  async send(spec: RequestSpec): Promise<WireResult> {
    // A connection idle for nearly the server's keep-alive timeout may be closing as the request goes out
    // (the request is then lost unanswered): as HTTP clients do, such a connection is not reused.
    if (this.#connection && performance.now() - this.#idleSince > this.#keepAliveMs - KEEP_ALIVE_MARGIN_MS) this.close();
    if (!this.#connection || this.#connection.closed) {
      const opened = await WireConnection.open(this.server.port);
      if (!(opened instanceof WireConnection)) return { kind: 'refused', code: opened.refused };
      this.#connection = opened;
    }
    const connection = this.#connection;
    this.sent += 1;
    const bytes = requestBytes(spec);
    const bodyLength = spec.body?.length ?? 0;
    if (this.halfway && bodyLength > 1) {
      const cut = bytes.length - Math.ceil(bodyLength / 2);
      await connection.send(bytes.subarray(0, cut));
      await this.halfway();
      await connection.send(bytes.subarray(cut));
    } else {
      await connection.send(bytes, { headOnly: spec.method === 'HEAD' });
    }
    const result = await connection.answer(this.deadlineMs);
    if (result.kind !== 'answer' || /close/i.test(result.answer.headers.connection ?? '')) {
      connection.close();
      this.#connection = undefined;
    } else {
      this.#idleSince = performance.now();
      const timeout = /timeout=(\d+)/.exec(result.answer.headers['keep-alive'] ?? '')?.[1];
      this.#keepAliveMs = timeout === undefined ? DEFAULT_KEEP_ALIVE_MS : Number(timeout) * 1000;
    }
    return result;
  }

  close(): void {
    this.#connection?.close();
    this.#connection = undefined;
  }

  get auth(): [string, string] {
    return ['authorization', `Bearer ${this.server.token}`];
  }
}

export interface SessionInfo {
  id: string;
  partSize: number;
  fileSize: number;
}

export type Observe = (step: Step) => void;

/**
 * The soak's limits on the uploader's policy: a transient answer (the faults it injects are 5xx and 429
 * too) is asked again at once, up to `attempts` times; a connection without an answer is a finding, not
 * retried.
 */
const soakRetryPolicy = (attempts: number): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  retryNoAnswer: false,
  maxAttempts: attempts,
  maxRateLimitedAttempts: attempts,
  backoffMs: 0,
  maxBackoffMs: 0,
  retryAfterOn: 'none',
});

function outcomeOfWire(result: WireResult): AttemptOutcome {
  if (result.kind !== 'answer') return { kind: 'network', message: result.kind };
  const { answer } = result;
  return { kind: 'status', status: answer.status, code: errorCodeOf(jsonOf(answer)), retryAfterMs: retryAfterMs(answer.headers) };
}

/** One request, repeated while the answer is transient, up to `attempts` times. */
async function step(client: Client, observe: Observe, attempts: number, what: Step['what'], spec: RequestSpec, wanted: number): Promise<Step> {
  const attemptOnce = async (): Promise<Step> => {
    const result = await client.send(spec);
    const injected = result.kind === 'answer' && isInjected(result.answer);
    const sent: Step = {
      what,
      request: describeRequest(spec.method, spec.target),
      result,
      ok: result.kind === 'answer' && result.answer.status === wanted,
      injected,
    };
    observe(sent);
    return sent;
  };
  const { result: last } = await retrying(attemptOnce, (sent) => (sent.ok ? undefined : outcomeOfWire(sent.result)), soakRetryPolicy(attempts));
  return last;
}

/**
 * One upload of a seeded file through an upload session, step by step, the way a conformant client does
 * it; remembers which parts the server acknowledged.
 */
export class Upload {
  session: SessionInfo | undefined;
  /** Part records the server answered 200 with, by part index. */
  readonly stored = new Map<number, unknown>();
  fileId: string | undefined;

  constructor(
    readonly client: Client,
    readonly fileName: string,
    readonly fileSize: number,
    readonly seed: string,
    readonly observe: Observe,
    /** Attempts per request while the answer is transient (1: no retry). */
    readonly attempts = 4,
  ) {}

  get parts(): number {
    return this.session ? totalPartsFor(this.fileSize, this.session.partSize) : 0;
  }

  get #base(): string {
    return `${API}/files/upload_sessions/${this.session?.id ?? ''}`;
  }

  async create(): Promise<Step> {
    const created = await step(
      this.client,
      this.observe,
      this.attempts,
      'create',
      {
        method: 'POST',
        target: `${API}${UPLOAD_SESSIONS_PATH}`,
        headers: [this.client.auth, ...Object.entries(JSON_CONTENT_TYPE)],
        body: Buffer.from(JSON.stringify(createSessionBody('0', this.fileName, this.fileSize))),
      },
      201,
    );
    if (created.ok && created.result.kind === 'answer') {
      const body = jsonOf(created.result.answer) as { id: string; part_size: number };
      this.session = { id: body.id, partSize: body.part_size, fileSize: this.fileSize };
    }
    return created;
  }

  bytesOf(index: number): Buffer {
    const { offset, size } = partAt(index, this.fileSize, this.session?.partSize ?? 0);
    return seededBytes(this.seed, offset, size);
  }

  /** PUTs one part, on `client` (default: the upload's own connection). */
  async putPart(index: number, client = this.client): Promise<Step> {
    const bytes = this.bytesOf(index);
    const offset = index * (this.session?.partSize ?? 0);
    const put = await step(
      client,
      this.observe,
      this.attempts,
      'part',
      {
        method: 'PUT',
        target: this.#base,
        headers: [client.auth, ...Object.entries(partHeaders(offset, bytes.length, this.fileSize, sha1Of(bytes)))],
        body: bytes,
      },
      200,
    );
    if (put.ok && put.result.kind === 'answer') this.stored.set(index, partRecordOf(jsonOf(put.result.answer)));
    return put;
  }

  /** Part indexes not acknowledged yet. */
  missing(): number[] {
    return Array.from({ length: this.parts }, (_, index) => index).filter((index) => !this.stored.has(index));
  }

  /** The offsets the server lists for the session (undefined when the listing failed). */
  async listedOffsets(): Promise<number[] | undefined> {
    let failed = false;
    const readPage = async (offset: number) => {
      const target = `${this.#base}/parts?${offset === 0 ? '' : `offset=${offset}&`}limit=${MAX_LIST_LIMIT}`;
      const listed = await step(this.client, this.observe, this.attempts, 'list', { method: 'GET', target, headers: [this.client.auth] }, 200);
      failed = !listed.ok || listed.result.kind !== 'answer';
      if (listed.result.kind !== 'answer' || failed) return undefined;
      return partsPageOf(jsonOf(listed.result.answer)) ?? { entries: [], totalCount: undefined };
    };
    const offsets: number[] = [];
    for await (const page of pagesOfParts(readPage, { step: MAX_LIST_LIMIT })) {
      // An entry without a numeric offset is listed as NaN: it matches no acknowledged part.
      for (const entry of page.entries) offsets.push(isRecord(entry) && typeof entry.offset === 'number' ? entry.offset : NaN);
    }
    return failed ? undefined : offsets.sort((a, b) => a - b);
  }

  async status(): Promise<Step> {
    return step(this.client, this.observe, this.attempts, 'status', { method: 'GET', target: this.#base, headers: [this.client.auth] }, 200);
  }

  sourceSha1(): Buffer {
    const whole = createHash('sha1');
    for (let index = 0; index < this.parts; index++) whole.update(this.bytesOf(index));
    return whole.digest();
  }

  async commit(): Promise<Step> {
    const records = Array.from({ length: this.parts }, (_, index) => this.stored.get(index));
    const committed = await step(
      this.client,
      this.observe,
      this.attempts,
      'commit',
      {
        method: 'POST',
        target: `${this.#base}/commit`,
        headers: [this.client.auth, ...Object.entries(commitHeaders(this.sourceSha1()))],
        body: Buffer.from(commitBody(records)),
      },
      201,
    );
    if (committed.ok && committed.result.kind === 'answer') this.fileId = committedFileIdOf(jsonOf(committed.result.answer));
    return committed;
  }

  /** Reads the committed file back: whether its bytes are the source's. */
  async readBack(): Promise<{ step: Step; identical?: boolean }> {
    const content = await step(
      this.client,
      this.observe,
      this.attempts,
      'content',
      { method: 'GET', target: `${API}/files/${this.fileId ?? ''}/content`, headers: [this.client.auth] },
      200,
    );
    if (!content.ok || content.result.kind !== 'answer') return { step: content };
    return { step: content, identical: createHash('sha1').update(content.result.answer.body).digest().equals(this.sourceSha1()) };
  }

  async abort(): Promise<Step> {
    return step(this.client, this.observe, this.attempts, 'abort', { method: 'DELETE', target: this.#base, headers: [this.client.auth] }, 204);
  }

  async deleteFile(): Promise<Step> {
    return step(
      this.client,
      this.observe,
      this.attempts,
      'delete',
      { method: 'DELETE', target: `${API}/files/${this.fileId ?? ''}`, headers: [this.client.auth] },
      204,
    );
  }
}

export interface UploadPlan {
  fileName: string;
  fileSize: number;
  /** Seed of the file's bytes (seededBytes). */
  seed: string;
  /** Part indexes in the order they are sent (default: in order). */
  order?: (parts: number) => number[];
  listParts?: boolean;
  finish: 'commit' | 'abort';
  /** Read the committed file back and delete it afterwards. */
  readBack?: boolean;
  deleteAfter?: boolean;
  /** Attempts per request when the answer is an injected fault, a 5xx or a 429 (default 4). */
  attempts?: number;
  /** Called with the session as soon as it exists (before any part). */
  onSession?: (session: SessionInfo) => void | Promise<void>;
  observe: Observe;
}

export interface UploadOutcome {
  outcome: 'committed' | 'aborted' | 'failed';
  upload: Upload;
  /** The SHA-1 of the bytes the server served back equals the source's. */
  identical?: boolean;
  /** The step that ended a failed upload. */
  failedAt?: Step;
}

/** Uploads a seeded file the way a conformant client does, observing every request and answer. */
export async function uploadOverWire(client: Client, plan: UploadPlan): Promise<UploadOutcome> {
  const upload = new Upload(client, plan.fileName, plan.fileSize, plan.seed, plan.observe, plan.attempts);
  const failed = (failedAt: Step): UploadOutcome => ({ outcome: 'failed', upload, failedAt });
  const created = await upload.create();
  if (!upload.session) return failed(created);
  await plan.onSession?.(upload.session);
  const order = plan.order?.(upload.parts) ?? Array.from({ length: upload.parts }, (_, index) => index);
  for (const index of order) {
    const put = await upload.putPart(index);
    if (!put.ok) return failed(put);
  }
  if (plan.listParts && (await upload.listedOffsets()) === undefined) return { outcome: 'failed', upload };
  if (plan.finish === 'abort') {
    const aborted = await upload.abort();
    return aborted.ok ? { outcome: 'aborted', upload } : failed(aborted);
  }
  const committed = await upload.commit();
  if (!committed.ok) return failed(committed);
  let identical: boolean | undefined;
  if (plan.readBack) {
    const read = await upload.readBack();
    if (!read.step.ok) return failed(read.step);
    identical = read.identical;
  }
  if (plan.deleteAfter) {
    const deleted = await upload.deleteFile();
    if (!deleted.ok) return { outcome: 'failed', upload, identical, failedAt: deleted };
  }
  return { outcome: 'committed', upload, identical };
}
