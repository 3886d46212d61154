import { open } from 'node:fs/promises';
import { committedEntryOf, partRecordOf, partsPageOf } from '../protocol/answers.ts';
import { MAX_LIST_LIMIT, pagesOfParts } from '../protocol/paging.ts';
import { totalPartsFor } from '../protocol/parts.ts';
import { JSON_CONTENT_TYPE, UPLOAD_SESSIONS_PATH, commitBody, commitHeaders, createSessionBody, partHeaders } from '../protocol/requests.ts';
import { type BoxFile, type UploadPart, type UploadSession, asUploadSession, isUploadPart } from '../protocol/shapes.ts';
import { type HttpMethod, type HttpRequest, type SendResult, type Transport, describeResponse, undiciTransport } from '../http/transport.ts';
import { type AttemptOutcome, DEFAULT_RETRY_POLICY, type RetryPolicy, awaitCommit, describeOutcome, outcomeOf, retrying, withRetry } from '../http/retry.ts';
import { isOverlapRefusal, partRetryDelayFor } from './part-retry.ts';
import { HoldingReader, type PartReader, type ReadyPart, RereadingReader } from './digests.ts';
import { UploadError } from '../errors.ts';

export interface UploadOptions {
  /** API base, e.g. https://upload.box.com/api/2.0 */
  baseUrl: string;
  token: string;
  file: string;
  fileName: string;
  folderId: string;
  /** Parts in flight at once, 3 to 5 as the guide recommends (default 4). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Upper bound on 202 answers waited out before the commit is given up (default 60). */
  maxCommitWaits?: number;
  /** Per-request headers and body timeout (default 120 s); for the uploader's own connection pool. */
  requestTimeoutMs?: number;
  /**
   * Read each part once into memory and send it from there (concurrency × part_size more memory), instead
   * of reading it again from the file as it is sent; for sources where a second read is costly.
   */
  holdParts?: boolean;
  /** Refuse a part record that does not describe the bytes sent (default true). */
  checkPartRecords?: boolean;
  /** How requests reach the server (default: an own undici pool, closed at the end; a given one is left open). */
  transport?: Transport;
  onProgress?: (progress: { uploadedBytes: number; totalBytes: number; partsDone: number; totalParts: number }) => void;
  /** Diagnostic lines: retries, waits, the abort. */
  log?: (line: string) => void;
}

export interface UploadResult {
  file: BoxFile;
  sessionId: string;
  parts: number;
  partSize: number;
}

/** What one attempt at a part came to: its record once stored, else the outcome to retry on or give up with. */
type PartAttempt = { stored: UploadPart; outcome?: undefined } | { stored?: undefined; outcome: AttemptOutcome };

/** Cut-down signal: wakes every waiter when state changes. */
class Changes {
  #waiters: (() => void)[] = [];
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Uploads a file through an upload session in constant memory. One pass reads the file in order through
 * two small buffers and hashes each part and the whole file from the same bytes; each part's body is
 * then read from the file again as it is sent (the page cache serves it: cheaper than holding parts in
 * memory). Up to `concurrency` parts are in flight; parts start in offset order; a failed part is
 * retried before any later part starts.
 */
export async function uploadFile(options: UploadOptions): Promise<UploadResult> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UploadError('concurrency must be a positive integer');
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const log = options.log ?? (() => {});
  const transport = options.transport ?? undiciTransport({ connections: concurrency + 1, timeoutMs: options.requestTimeoutMs });
  const send = (method: HttpMethod, url: string, headers: Record<string, string>, body?: HttpRequest['body']) => transport.send({ method, url, headers, body });
  const retried = withRetry(transport, policy, log);
  const auth = { authorization: `Bearer ${options.token}` };
  const handle = await open(options.file, 'r');
  let session: UploadSession | undefined;
  try {
    const fileSize = (await handle.stat()).size;
    const created = await retried.answer('create session', {
      method: 'POST',
      url: `${options.baseUrl.replace(/\/$/, '')}${UPLOAD_SESSIONS_PATH}`,
      headers: { ...auth, ...JSON_CONTENT_TYPE },
      body: JSON.stringify(createSessionBody(options.folderId, options.fileName, fileSize)),
    });
    if (created.status !== 201) throw new UploadError(`create session: ${describeResponse(created)}`);
    session = asUploadSession(created.body);
    const partSize = session.part_size;
    const totalParts = totalPartsFor(fileSize, partSize);
    const uploadPart = session.session_endpoints.upload_part;
    const records: UploadPart[] = [];
    const reader: PartReader = options.holdParts ? new HoldingReader(handle, fileSize, partSize, concurrency) : new RereadingReader(handle, fileSize, partSize);
    const changes = new Changes();
    let retriesPending = 0;
    let uploadedBytes = 0;
    let failure: Error | undefined;

    /** One PUT of a part: its record once stored (acknowledged, or found listed after a lost answer), else what came back. */
    const attemptPart = async ({ part, sha1: partSha1, body }: ReadyPart, attempt: number): Promise<PartAttempt> => {
      const sha1 = partSha1.toString('hex');
      const result = await send('PUT', uploadPart, { ...auth, ...partHeaders(part.offset, part.size, fileSize, partSha1) }, body);
      if (attempt > 1) {
        // Later parts wait until the retry has been answered: only then has it surely reached the server
        // before them (started together, either may arrive first).
        retriesPending -= 1;
        changes.notify();
      }
      if (result.ok && result.response.status === 200) {
        const record = partRecordOf(result.response.body);
        const matches = isUploadPart(record) && record.offset === part.offset && record.size === part.size && record.sha1 === sha1;
        if (options.checkPartRecords !== false && !matches) {
          throw new UploadError(`part ${part.index + 1}: the server acknowledged ${JSON.stringify(record)}, not the part sent`);
        }
        return { stored: record as UploadPart };
      }
      const outcome = outcomeOf(result);
      // An earlier attempt whose answer was lost may have been stored: the server then refuses the resend
      // as an overlap. The listed record for exactly these bytes is the part's record (C-RECOVER-STORED).
      if (attempt > 1 && isOverlapRefusal(outcome)) {
        const stored = await storedRecordFor(send, auth, session?.session_endpoints.list_parts ?? '', { offset: part.offset, size: part.size, sha1 });
        if (stored) {
          log(`part ${part.index + 1}: already stored (an earlier answer was lost); its listed record is used`);
          return { stored };
        }
      }
      return { outcome };
    };

    const sendPart = async (ready: ReadyPart): Promise<void> => {
      const name = `part ${ready.part.index + 1}`;
      const giveUp = (outcome: AttemptOutcome, attempts: number) =>
        new UploadError(`${name}: ${describeOutcome(outcome)}, giving up after ${attempts} attempt(s)`);
      const { result, attempts } = await retrying(
        (attempt) => attemptPart(ready, attempt),
        (tried) => tried.outcome,
        policy,
        {
          delayFor: (outcome, attempt) => partRetryDelayFor(outcome, attempt, policy),
          beforeWait: (waitMs, _tried, outcome, attempt) => {
            if (failure) throw giveUp(outcome, attempt);
            log(`${name}: ${describeOutcome(outcome)}; retrying in ${waitMs} ms`);
            retriesPending += 1;
          },
        },
      );
      if (result.outcome) throw giveUp(result.outcome, attempts);
      records.push(result.stored);
    };

    const inFlight = new Set<Promise<void>>();
    // The next part is hashed while the parts in flight are sent, so a free slot is filled at once.
    let upcoming = reader.nextPart();
    upcoming.catch(() => undefined);
    while (!failure) {
      while (!failure && (inFlight.size >= concurrency || retriesPending > 0)) await changes.next();
      if (failure) break;
      const ready = await upcoming.catch((error: unknown) => {
        // The file could not be read: the parts in flight end first, then the session is aborted.
        failure ??= error instanceof Error ? error : new Error(String(error));
        return undefined;
      });
      if (!ready) break;
      upcoming = reader.nextPart();
      upcoming.catch(() => undefined);
      const { part } = ready;
      const task: Promise<void> = sendPart(ready)
        .then(() => {
          uploadedBytes += part.size;
          options.onProgress?.({ uploadedBytes, totalBytes: fileSize, partsDone: records.length, totalParts });
        })
        .catch((error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => {
          ready.release();
          inFlight.delete(task);
          changes.notify();
        });
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;

    const commit: HttpRequest = {
      method: 'POST',
      url: session.session_endpoints.commit,
      headers: { ...auth, ...commitHeaders(reader.wholeFile()) },
      body: commitBody([...records].sort((a, b) => a.offset - b.offset)),
    };
    const committed = await awaitCommit(() => retried.answer('commit', commit), {
      maxWaits: options.maxCommitWaits ?? 60,
      beforeWait: (waitMs) => log(`commit: 202, parts still processing; committing again in ${waitMs / 1000} s`),
    });
    if (committed.status !== 201) throw new UploadError(`commit: ${describeResponse(committed)}`);
    const file = committedEntryOf(committed.body) as BoxFile | undefined;
    if (!file || file.size !== fileSize) throw new UploadError(`commit answered 201 without a file entry of ${fileSize} bytes`);
    return { file, sessionId: session.id, parts: totalParts, partSize };
  } catch (error) {
    if (session) {
      log(`aborting upload session ${session.id}`);
      await send('DELETE', session.session_endpoints.abort, auth);
    }
    throw error instanceof UploadError ? error : new UploadError(error instanceof Error ? error.message : String(error), { cause: error });
  } finally {
    await handle.close();
    if (!options.transport) await transport.close();
  }
}

/**
 * The session's listed record for exactly `wanted` (offset, size and SHA-1), read page by page; undefined
 * when it is not listed or the listing cannot be read (the part is then sent again).
 */
async function storedRecordFor(
  send: (method: HttpMethod, url: string, headers: Record<string, string>) => Promise<SendResult>,
  auth: Record<string, string>,
  listParts: string,
  wanted: { offset: number; size: number; sha1: string },
): Promise<UploadPart | undefined> {
  const readPage = async (offset: number) => {
    const url = new URL(listParts);
    url.searchParams.set('offset', String(offset));
    url.searchParams.set('limit', String(MAX_LIST_LIMIT));
    const result = await send('GET', url.href, auth);
    return result.ok && result.response.status === 200 ? partsPageOf(result.response.body) : undefined;
  };
  for await (const page of pagesOfParts(readPage, { step: MAX_LIST_LIMIT })) {
    const found = page.entries.find(
      (entry): entry is UploadPart => isUploadPart(entry) && entry.offset === wanted.offset && entry.size === wanted.size && entry.sha1 === wanted.sha1,
    );
    if (found) return found;
  }
  return undefined;
}
