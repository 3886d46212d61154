// The server probe's face: ServerProbe, what the scenarios, cases and generated sequences call. Each job
// behind it has its own module: target.ts (the server and what a run shares), send.ts (the send-and-wait
// loop), session-model.ts (the kit's picture of each session, and what it expects of each answer),
// request-specs.ts (the requests), opening.ts (sizing and opening sessions), file-bytes.ts (the files'
// bytes), leftovers.ts (the clean-up).
import { awaitCommit } from '../http/retry.ts';
import { type JsonResponse, describeResponse } from '../http/transport.ts';
import { partsPageOf } from '../protocol/answers.ts';
import { sha1Of } from '../protocol/digest.ts';
import { pagesOfParts } from '../protocol/paging.ts';
import { totalPartsFor } from '../protocol/parts.ts';
import { createSessionBody } from '../protocol/requests.ts';
import { type UploadPart, type UploadSession, isRecord, isUsableSession } from '../protocol/shapes.ts';
import { AnswerDeadline } from './budget.ts';
import { Blocked, NoAnswer } from '../errors.ts';
import type { Credentials, ExpectedPart, Expectation, ProbeExchange } from './exchange.ts';
import { WholeFiles, bytesAt, otherBytesAt, partBytes } from './file-bytes.ts';
import { Leftovers } from './leftovers.ts';
import { openSession, openShaped } from './opening.ts';
import { abortSpec, commitSpec, contentSpec, createSpec, deleteFileSpec, listSpec, partSpec, statusSpec } from './request-specs.ts';
import { type SendContext, type SendSpec, hang, seconds, sendAndWait, waitOut } from './send.ts';
import { AUTH_REFUSAL, type ProbeSession, SessionModels } from './session-model.ts';
import type { FileShape } from './spaces.ts';
import { type ServerDepth, type ServerTarget, runShared } from './target.ts';

export type { Credentials } from './exchange.ts';
export { Blocked, NoAnswer } from '../errors.ts';
export { WRONG_TOKEN } from './credentials.ts';
export type { SendSpec } from './send.ts';
export type { ProbeSession } from './session-model.ts';
export { BOX_MIN_FILE_SIZE, PROBE_FILE_SIZE, type ServerDepth, type ServerTarget, fileSizeFor } from './target.ts';
export { MAX_LIST_LIMIT } from '../protocol/paging.ts';

/** Parts the kit sends at once when it only needs them stored (as a client would: 3 to 5). */
const STORE_CONCURRENCY = 4;

/** A listing followed page by page. */
export interface Listing {
  entries: Record<string, unknown>[];
  /** total_count of every page, in order. */
  totalCounts: unknown[];
  /** The pages' exchange indexes. */
  requests: number[];
}

/**
 * Crafted requests to a server under test. Every exchange is kept with what the kit sent and what it
 * expects back (src/probe/exchange.ts), so that every answer can be judged; the expectations come from
 * what the kit sent, never from the server's own answers. Tracks what it opened and created so that
 * `cleanUp` leaves a live server as it found it. Waits out 429s (and a commit's 202s) for as long as the
 * server asks, within the answer budget.
 */
export class ServerProbe {
  readonly exchanges: ProbeExchange[] = [];
  readonly #models = new SessionModels();
  readonly #leftovers = new Leftovers();
  readonly #wholeFiles = new WholeFiles();
  #label?: string;
  /** What the send-and-wait loop reads of the probe: the label as it is when each attempt goes out. */
  readonly #sendContext: SendContext;

  constructor(
    readonly target: ServerTarget,
    readonly scenarioTag: string,
  ) {
    this.#sendContext = {
      target,
      exchanges: this.exchanges,
      label: () => this.#label,
      learn: (exchange, response) => this.#leftovers.learned(this.#models.learn(exchange, response)),
    };
  }

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
    return sendAndWait(this.#sendContext, spec);
  }

  /** From exchange `index` on, the session may hold what the kit did not mean to store (a rule broken there says what). */
  diverge(sessionId: string, index: number): void {
    this.#models.diverge(sessionId, index);
  }

  /** Exchange index from which each diverged session's stateful answers are not judged. */
  divergences(): Record<string, number> {
    return this.#models.divergences();
  }

  /** The parts the server acknowledged in the session, by offset, as the kit sent them. */
  expectedParts(file: ProbeSession): ExpectedPart[] {
    return this.#models.expectedParts(file);
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
    const fileSize = isRecord(body) && typeof body.file_size === 'number' ? body.file_size : 0;
    const response = await this.send(
      createSpec(this.target, body, credentials, expect ?? (credentials !== 'token' ? AUTH_REFUSAL : { kind: 'session', fileSize })),
    );
    if (response.status === 201 && isUsableSession(response.body)) {
      const session = response.body;
      this.#leftovers.opened(session);
      this.#models.open(session.id);
    }
    return response;
  }

  /**
   * Opens a session for a file of at least `minParts` parts and at least 20 MB (as Box requires), asking
   * again for a larger file when the server's part_size makes too few parts.
   */
  async openSession(minParts = 3, minFileSize = 0): Promise<ProbeSession> {
    return openSession(this, minParts, minFileSize);
  }

  /**
   * Opens a session for a file of `shape` at the server's part_size. Undefined when the server refuses a
   * single-part file under Box's 20 MB minimum, as it may.
   */
  async openShaped(shape: FileShape): Promise<ProbeSession | undefined> {
    return openShaped(this, shape);
  }

  /** Whether the kit still knows what the session holds: open, and nothing stored that it did not mean to store. */
  usable(file: ProbeSession): boolean {
    return this.#models.tracked(file.session.id);
  }

  partCount(file: ProbeSession): number {
    return totalPartsFor(file.fileSize, file.session.part_size);
  }

  /** The bytes of part `number` (1-based) as the plan cuts them. */
  partBytes(file: ProbeSession, number: number): { offset: number; bytes: Buffer } {
    return partBytes(file, number);
  }

  bytesAt(file: ProbeSession, offset: number, length: number): Buffer {
    return bytesAt(file, offset, length);
  }

  /** Bytes of the same length that are not the file's: what an overlapping part with other content sends. */
  otherBytesAt(file: ProbeSession, offset: number, length: number): Buffer {
    return otherBytesAt(file, offset, length);
  }

  /** The SHA-1 of the whole file, as the kit sends it (computed once per session). */
  wholeFileSha1(file: ProbeSession): Buffer {
    return this.#wholeFiles.sha1(file);
  }

  wholeFileDigest(file: ProbeSession): string {
    return this.#wholeFiles.digest(file);
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
    const expected = expect ?? (credentials !== 'token' ? AUTH_REFUSAL : this.#models.partExpectation(file, range));
    return this.send(partSpec(file, range, body, sha1Of(body), overrides, credentials, expected));
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
    const expect = this.#models.expectation(file.session.id, credentials, () => ({ kind: 'listing', parts: this.expectedParts(file), query }));
    return this.send(listSpec(file, query, credentials, expect));
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
    for await (const page of pagesOfParts(readPage, { step, expected: this.#models.acknowledgedCount(file), extraPages: 2 })) {
      listing.entries.push(...page.entries.filter(isRecord));
      listing.totalCounts.push(page.totalCount);
    }
    return listing;
  }

  async status(file: ProbeSession, credentials: Credentials = 'token'): Promise<JsonResponse> {
    const expect = this.#models.expectation(file.session.id, credentials, () => ({
      kind: 'status',
      sessionId: file.session.id,
      processed: this.#models.acknowledgedCount(file),
    }));
    return this.send(statusSpec(file, credentials, expect));
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
    const expect =
      options.expect ??
      this.#models.commitExpectation(file, parts, options.digest, credentials, () => ({
        digest: this.wholeFileDigest(file),
        sha1: this.wholeFileSha1(file).toString('hex'),
      }));
    const deadline = new AnswerDeadline(this.budgetMs, `the answer to POST ${file.session.session_endpoints.commit} (the commit)`);
    const spec = commitSpec(file, parts, options.digest, credentials, expect, deadline);
    return awaitCommit(() => this.send(spec), {
      beforeWait: (waitMs, _response, waits) => {
        const last = this.exchanges.at(-1);
        if (!last) throw new Error('a commit answered without an exchange');
        const accepted = waits + 1;
        // 202s the kit waited out and then ran out of budget for: the commit never completes (S-COMMIT-OK). A first
        // wait longer than the budget is the kit's limit instead (raise --timeout).
        if (accepted > 1 && waitMs >= deadline.remainingMs()) {
          last.waitedOut = true;
          hang(
            this.target,
            last,
            'commit',
            `answered 202 ${accepted} times over ${seconds(deadline.budgetMs - deadline.remainingMs())} s, never the commit's outcome`,
            'S-COMMIT-OK',
          );
        }
        waitOut(last, deadline, waitMs, `the server answered 202 and asked to commit again after ${seconds(waitMs)} s`);
      },
    });
  }

  /**
   * Downloads a committed file (`GET {apiBaseUrl}/files/{id}/content`), hashing it as it arrives. Only a 200
   * is the content; a server that does not serve files this way answers something else.
   */
  async readContent(fileId: string, expected?: { size: number; sha1: string }): Promise<JsonResponse> {
    return this.send(contentSpec(this.target, fileId, expected));
  }

  async abort(session: UploadSession, credentials: Credentials = 'token'): Promise<JsonResponse> {
    return this.send(
      abortSpec(
        session,
        credentials,
        this.#models.expectation(session.id, credentials, () => ({ kind: 'abort' })),
      ),
    );
  }

  /** Aborts every session still open and deletes every file created; returns what could not be undone. */
  async cleanUp(): Promise<string[]> {
    return this.#leftovers.cleanUp(
      (session) => this.abort(session),
      (id) => this.send(deleteFileSpec(this.target, id)),
    );
  }
}
