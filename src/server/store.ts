import { createHash, randomBytes } from 'node:crypto';
import { close, createReadStream, createWriteStream, open, writeSync, writevSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type Span, coverageOf, spansOverlap } from '../protocol/parts.ts';
import type { BoxFile, UploadPart } from '../protocol/shapes.ts';
import type { FaultInstruction } from './faults.ts';
import { SparseFileWriter } from './sparse-sink.ts';
import { type FileAttributes, fileEntry } from './items.ts';

const READ_CHUNK = 1024 * 1024;
/** How much of a part's body may wait to be written: bounded per part in flight. */
const PART_WRITE_BUFFER = 256 * 1024;

// The written buffers go back with the count: the stream writes what a short write left from them.
type WriteDone = (error: Error | null, written?: number, buffers?: Buffer | Buffer[]) => void;

/**
 * The file system calls of a part file's write stream: its writes are made at once, on the server's
 * thread, rather than through the thread pool. A write lands in the page cache in tens of microseconds,
 * less than the hand-off to a pool thread and back. The server took 0.37 s less CPU per GiB received
 * (2.60 s against 2.97 s), and a 1 GiB upload 2.80 s against 3.01 s (medians of five alternating runs,
 * the uploader and `npm run server` in separate processes). A disk that stalls now stalls the server's
 * thread too; a failed write (a full disk) fails the stream as before. The answer comes on the next
 * tick, as the stream expects of an asynchronous call.
 */
export const PART_FILE_CALLS = {
  open,
  close,
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number | null, done: WriteDone): void {
    try {
      process.nextTick(done, null, writeSync(fd, buffer, offset, length, position), buffer);
    } catch (error) {
      process.nextTick(done, error as Error);
    }
  },
  writev(fd: number, buffers: Buffer[], position: number | null, done: WriteDone): void {
    try {
      process.nextTick(done, null, writevSync(fd, buffers, position ?? undefined), buffers);
    } catch (error) {
      process.nextTick(done, error as Error);
    }
  },
};

/** A fault plan as the server runs it: the instructions and how often each has fired. */
export interface ActivePlan {
  instructions: FaultInstruction[];
  fired: number[];
  /** Session creates received since the plan was set: the attempt counter of `create` instructions. */
  creates: number;
}

export interface StoredPart extends UploadPart {
  path: string;
}

export interface Session {
  id: string;
  folderId: string;
  fileName: string;
  fileSize: number;
  partSize: number;
  /** For a new-version session: the file it replaces. */
  fileId?: string;
  createdAt: number;
  expiresAt: number;
  state: 'open' | SessionEnd;
  /** Stored parts by offset. */
  parts: Map<number, StoredPart>;
  /** Part uploads received per part number, and commits received: the attempt counters of fault plans. */
  partAttempts: Map<number, number>;
  commitAttempts: number;
  /** The plan in force when the session was created. */
  plan: ActivePlan;
  committedFile?: StoredFile;
  /** The tail of the session's commit/abort/expiry queue: they run one at a time (see `exclusively`). */
  exclusive: Promise<void>;
}

/** How a session ended; later requests for it are answered 404 (committed, aborted) or 410 (expired). */
export type SessionEnd = 'committed' | 'aborted' | 'expired';

export interface StoredFile {
  entry: BoxFile;
  /** The committed parts' files, in offset order: the file's content is their concatenation (never copied). */
  paths: string[];
  /** When it was committed (Date.now()): it is forgotten `fileTtlMs` later. */
  storedAt: number;
}

/** What the store keeps at most, and for how long. */
export interface StoreLimits {
  /** Open sessions at once; creating one more is refused until one ends or expires. */
  maxSessions: number;
  /** Parts stored across all open sessions; a part past it is refused (507). */
  maxParts: number;
  /** Committed files kept; past it the oldest is forgotten. */
  maxFiles: number;
  sessionTtlMs: number;
  fileTtlMs: number;
}

/** How many ended sessions are remembered, to answer 410 rather than 404 for an expired one. */
const ENDED_SESSIONS_KEPT = 10_000;

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex').toUpperCase();

/** Runs `work` once every commit, abort or expiry of the session queued before it has finished. */
export function exclusively<T>(session: Session, work: () => Promise<T>): Promise<T> {
  const result = session.exclusive.then(work);
  session.exclusive = result.then(
    () => undefined,
    () => undefined,
  );
  return result;
}

/** Sessions, their parts on disk, and committed files, under one directory. */
export class UploadStore {
  /** Open sessions. */
  readonly sessions = new Map<string, Session>();
  readonly files = new Map<string, StoredFile>();
  readonly limits: StoreLimits;
  /** Sessions that ended, oldest first, up to ENDED_SESSIONS_KEPT. */
  readonly #ended = new Map<string, SessionEnd>();
  #nextFileId = 1_000_000_001;
  #nextVersionId = 2_000_000_001;
  readonly #dir: string;

  constructor(dir: string, limits: StoreLimits) {
    this.#dir = dir;
    this.limits = limits;
  }

  /** Makes the storage directories; again after they were removed under a running server. */
  async init(): Promise<void> {
    await mkdir(join(this.#dir, 'parts'), { recursive: true });
    await mkdir(join(this.#dir, 'files'), { recursive: true });
  }

  /** A new part file to stream into. Its errors (open, write, close) are the caller's to read from `closePartFile`. */
  openPartFile(options: { sparse?: boolean } = {}): { path: string; sink: Writable } {
    const path = join(this.#dir, 'parts', randomHex(12));
    // Sparse: runs of zeros become holes (sparse-sink.ts), for multi-GiB uploads from sparse files.
    const sink = options.sparse ? new SparseFileWriter(path) : createWriteStream(path, { highWaterMark: PART_WRITE_BUFFER, fs: PART_FILE_CALLS });
    // Never an unhandled 'error': receiveBody and closePartFile read it from the stream.
    sink.on('error', () => undefined);
    return { path, sink };
  }

  /** Ends a part file; resolves the storage error that kept it from being written whole, if any. */
  async closePartFile(sink: Writable): Promise<Error | undefined> {
    if (!sink.errored) sink.end();
    try {
      await finished(sink);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** Removes files, as far as the storage lets it: a failure leaves a stray file, never a failed request. */
  async removeQuietly(paths: readonly string[]): Promise<void> {
    await Promise.all(paths.map((path) => rm(path, { force: true }).catch(() => undefined)));
  }

  /** How an ended session ended, while it is remembered. */
  endOf(id: string): SessionEnd | undefined {
    return this.#ended.get(id);
  }

  /** Ends an open session: forgets it (and the parts it still owns), remembering how it ended. */
  async endSession(session: Session, end: SessionEnd): Promise<void> {
    session.state = end;
    this.sessions.delete(session.id);
    this.#ended.set(session.id, end);
    if (this.#ended.size > ENDED_SESSIONS_KEPT) {
      const oldest = this.#ended.keys().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
    const paths = [...session.parts.values()].map((part) => part.path);
    session.parts.clear();
    await this.removeQuietly(paths);
  }

  storedPartCount(): number {
    let count = 0;
    for (const session of this.sessions.values()) count += session.parts.size;
    return count;
  }

  /** When an open session will next expire (Date.now() time), or undefined with none open. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const session of this.sessions.values()) if (next === undefined || session.expiresAt < next) next = session.expiresAt;
    return next;
  }

  /** Ends the sessions past their expiry and forgets the files past their lifetime. */
  async sweep(now = Date.now()): Promise<void> {
    const work: Promise<void>[] = [];
    for (const session of this.sessions.values()) {
      if (now > session.expiresAt) work.push(exclusively(session, () => (session.state === 'open' ? this.endSession(session, 'expired') : Promise.resolve())));
    }
    for (const [id, file] of this.files) if (now - file.storedAt > this.limits.fileTtlMs) work.push(this.removeFile(id).then(() => undefined));
    await Promise.all(work);
  }

  conflictingPart(session: Session, span: Span): StoredPart | undefined {
    for (const part of session.parts.values()) if (spansOverlap(part, span)) return part;
    return undefined;
  }

  /** The entries of the files committed into `folderId`. */
  filesIn(folderId: string): BoxFile[] {
    return [...this.files.values()].filter((file) => file.entry.parent.id === folderId).map((file) => file.entry);
  }

  fileNamed(folderId: string, name: string): StoredFile | undefined {
    for (const file of this.files.values()) if (file.entry.parent.id === folderId && file.entry.name === name) return file;
    return undefined;
  }

  /** Problems with a commit's part list: each entry must be a stored part, and together they cover the file once. */
  commitPartsProblem(session: Session, listed: readonly UploadPart[]): string | undefined {
    for (const entry of listed) {
      const stored = session.parts.get(entry.offset);
      if (!stored || stored.part_id !== entry.part_id || stored.size !== entry.size || stored.sha1 !== entry.sha1) {
        return `part ${JSON.stringify(entry)} is not a part of this session as uploaded`;
      }
    }
    const { gaps, overlaps } = coverageOf(listed, session.fileSize);
    if (overlaps.length > 0) return `parts overlap at offset ${overlaps[0]?.offset}`;
    if (gaps.length > 0) return `parts do not cover bytes ${gaps[0]?.offset}-${(gaps[0]?.offset ?? 0) + (gaps[0]?.size ?? 0) - 1}`;
    return undefined;
  }

  /** The part files of `parts`, in offset order. */
  partPaths(parts: readonly UploadPart[], session: Session): string[] {
    return [...parts]
      .sort((a, b) => a.offset - b.offset)
      .map((entry) => {
        const stored = session.parts.get(entry.offset);
        if (!stored) throw new Error(`part at ${entry.offset} vanished`);
        return stored.path;
      });
  }

  /** SHA-1 of the concatenation of `paths`, read once in 1 MiB chunks (the 64 KiB default is slower). */
  async digestOf(paths: readonly string[]): Promise<Buffer> {
    const hash = createHash('sha1');
    for (const path of paths) for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) hash.update(chunk as Buffer);
    return hash.digest();
  }

  /**
   * Makes `paths` (the session's committed parts) a file; the session no longer owns them. Files past the cap
   * (the oldest first) are forgotten at once and their parts gone from the disk when this resolves.
   */
  async addFile(session: Session, paths: string[], sha1Hex: string, attributes: FileAttributes = {}): Promise<StoredFile> {
    const existing = session.fileId ? this.files.get(session.fileId) : undefined;
    const now = Date.now();
    const entry: BoxFile = fileEntry({
      id: existing?.entry.id ?? String(this.#nextFileId++),
      version: existing ? Number(existing.entry.etag ?? 0) + 1 : 0,
      name: session.fileName,
      size: session.fileSize,
      sha1: sha1Hex,
      folderId: session.folderId,
      versionId: String(this.#nextVersionId++),
      createdAt: now,
      modifiedAt: now,
      attributes,
      previous: existing?.entry,
    });
    const id = entry.id;
    const file = { entry, paths, storedAt: Date.now() };
    // Deleted first, so that a new version counts as the newest file.
    this.files.delete(id);
    this.files.set(id, file);
    const kept = new Set(paths);
    for (const [offset, part] of session.parts) if (kept.has(part.path)) session.parts.delete(offset);
    const evicted: Promise<boolean>[] = [];
    while (this.files.size > this.limits.maxFiles) {
      const oldest = this.files.keys().next().value;
      if (oldest === undefined) break;
      evicted.push(this.removeFile(oldest));
    }
    await Promise.all(evicted);
    return file;
  }

  async removeFile(id: string): Promise<boolean> {
    const file = this.files.get(id);
    if (!file) return false;
    this.files.delete(id);
    await this.removeQuietly(file.paths);
    return true;
  }

  /** The storage error that keeps `file`'s content from being read whole (a part file missing or cut), if any. */
  async contentProblem(file: StoredFile): Promise<Error | undefined> {
    let total = 0;
    try {
      for (const path of file.paths) total += (await stat(path)).size;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    if (total === file.entry.size) return undefined;
    return Object.assign(new Error(`its part files hold ${total} bytes, not ${file.entry.size}`), { code: 'EIO' });
  }

  async destroy(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }
}
