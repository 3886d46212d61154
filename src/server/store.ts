import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Span, coverageOf, spansOverlap } from '../protocol/parts.ts';
import type { BoxFile, UploadPart } from '../protocol/shapes.ts';
import type { FaultInstruction } from './faults.ts';

/** A fault plan as the server runs it: the instructions and how often each has fired. */
export interface ActivePlan {
  instructions: FaultInstruction[];
  fired: number[];
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
  path: string;
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

  /** Concatenates the listed parts (sorted by offset) into a new file, hashing as it goes. */
  async assemble(parts: readonly UploadPart[], session: Session): Promise<{ path: string; sha1: Buffer }> {
    const path = join(this.#dir, 'files', randomHex(12));
    const hash = createHash('sha1');
    const out = createWriteStream(path);
    try {
      for (const entry of [...parts].sort((a, b) => a.offset - b.offset)) {
        const stored = session.parts.get(entry.offset);
        if (!stored) throw new Error(`part at ${entry.offset} vanished`);
        for await (const chunk of createReadStream(stored.path)) {
          hash.update(chunk as Buffer);
          if (!out.write(chunk)) await once(out, 'drain');
        }
      }
    } finally {
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
    return { path, sha1: hash.digest() };
  }

  addFile(session: Session, path: string, sha1Hex: string): StoredFile {
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
    const file = { entry, path };
    this.files.set(id, file);
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
    await rm(file.path, { force: true });
    return true;
  }

  async fileSizeOnDisk(path: string): Promise<number> {
    return (await stat(path)).size;
  }

  async destroy(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }
}

export async function copyFileTo(path: string, destination: NodeJS.WritableStream): Promise<void> {
  await pipeline(createReadStream(path), destination);
}
