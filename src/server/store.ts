import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Span, coverageOf, spansOverlap } from '../protocol/parts.ts';
import type { BoxFile, UploadPart } from '../protocol/shapes.ts';
import type { FaultInstruction } from './faults.ts';

const READ_CHUNK = 1024 * 1024;

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
  state: 'open' | 'committed' | 'aborted';
  /** Stored parts by offset. */
  parts: Map<number, StoredPart>;
  /** Part uploads received per part number, and commits received: the attempt counters of fault plans. */
  partAttempts: Map<number, number>;
  commitAttempts: number;
  /** The plan in force when the session was created. */
  plan: ActivePlan;
  committedFile?: StoredFile;
  committing?: Promise<unknown>;
}

export interface StoredFile {
  entry: BoxFile;
  /** The committed parts' files, in offset order: the file's content is their concatenation (never copied). */
  paths: string[];
}

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex').toUpperCase();

/** Sessions, their parts on disk, and committed files, under one directory. */
export class UploadStore {
  readonly sessions = new Map<string, Session>();
  readonly files = new Map<string, StoredFile>();
  #nextFileId = 1_000_000_001;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async init(): Promise<void> {
    await mkdir(join(this.#dir, 'parts'), { recursive: true });
    await mkdir(join(this.#dir, 'files'), { recursive: true });
  }

  newPartPath(): string {
    return join(this.#dir, 'parts', randomHex(12));
  }

  conflictingPart(session: Session, span: Span): StoredPart | undefined {
    for (const part of session.parts.values()) if (spansOverlap(part, span)) return part;
    return undefined;
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

  /** Makes `paths` (the session's committed parts) a file; the session no longer owns them. */
  addFile(session: Session, paths: string[], sha1Hex: string): StoredFile {
    const existing = session.fileId ? this.files.get(session.fileId) : undefined;
    const id = existing?.entry.id ?? String(this.#nextFileId++);
    const entry: BoxFile = {
      type: 'file',
      id,
      etag: existing ? String(Number(existing.entry.etag ?? 0) + 1) : '0',
      name: session.fileName,
      size: session.fileSize,
      sha1: sha1Hex,
      parent: { type: 'folder', id: session.folderId },
      created_at: new Date().toISOString(),
    };
    const file = { entry, paths };
    this.files.set(id, file);
    const kept = new Set(paths);
    for (const [offset, part] of session.parts) if (kept.has(part.path)) session.parts.delete(offset);
    return file;
  }

  async dropParts(session: Session): Promise<void> {
    const paths = [...session.parts.values()].map((part) => part.path);
    await Promise.all(paths.map((path) => rm(path, { force: true })));
  }

  async removeFile(id: string): Promise<boolean> {
    const file = this.files.get(id);
    if (!file) return false;
    this.files.delete(id);
    await Promise.all(file.paths.map((path) => rm(path, { force: true })));
    return true;
  }

  async destroy(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }
}

export async function copyFileTo(path: string, destination: NodeJS.WritableStream): Promise<void> {
  await pipeline(createReadStream(path), destination);
}
