import { type Hash, createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { FileRangeBody } from '../http/transport.ts';
import { type PlannedPart, partAt, totalPartsFor } from '../protocol/parts.ts';

/** Read size of the hashing pass: 1 MiB reads cost about a quarter less than 64 KiB ones. */
export const HASH_CHUNK = 1024 * 1024;

/** A part ready to send: its SHA-1, and the body to send (as often as it takes). */
export interface ReadyPart {
  part: PlannedPart;
  sha1: Buffer;
  body: FileRangeBody | Buffer;
  /** The part is done with (sent, or given up): what it holds may be reused. */
  release(): void;
}

/**
 * Hands out a file's parts in offset order, each with its SHA-1, hashing the whole file from the same
 * bytes on the way; `wholeFile()` answers once every part has been handed out.
 */
export interface PartReader {
  readonly totalParts: number;
  nextPart(): Promise<ReadyPart | undefined>;
  wholeFile(): Buffer;
}

abstract class OrderedReader implements PartReader {
  protected readonly file: FileHandle;
  protected readonly fileSize: number;
  protected readonly partSize: number;
  readonly totalParts: number;
  readonly #whole: Hash = createHash('sha1');
  #next = 0;

  constructor(file: FileHandle, fileSize: number, partSize: number) {
    this.file = file;
    this.fileSize = fileSize;
    this.partSize = partSize;
    this.totalParts = totalPartsFor(fileSize, partSize);
  }

  async nextPart(): Promise<ReadyPart | undefined> {
    if (this.#next >= this.totalParts) return undefined;
    const part = partAt(this.#next, this.fileSize, this.partSize);
    const hash = createHash('sha1');
    const { held, release } = await this.readPart(part, (bytes) => {
      hash.update(bytes);
      this.#whole.update(bytes);
    });
    this.#next += 1;
    const sha1 = hash.digest();
    const body: ReadyPart['body'] = held ?? { kind: 'file-range', file: this.file, offset: part.offset, length: part.size, sha1 };
    return { part, sha1, body, release };
  }

  wholeFile(): Buffer {
    if (this.#next < this.totalParts) throw new Error(`the whole-file digest needs every part hashed (${this.#next} of ${this.totalParts})`);
    return this.#whole.digest();
  }

  /** Reads `part`, handing every byte of it to `hash` in order; `held`: its bytes, when kept in memory. */
  protected abstract readPart(part: PlannedPart, hash: (bytes: Buffer) => void): Promise<{ held?: Buffer; release(): void }>;

  /** Reads `length` bytes at `offset` into `buffer`; fails when the file ends first. */
  protected async readFully(buffer: Buffer, length: number, offset: number, part: PlannedPart): Promise<void> {
    for (let done = 0; done < length;) {
      const { bytesRead } = await this.file.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`the file shrank while it was read (part ${part.index + 1})`);
      done += bytesRead;
    }
  }
}

/**
 * Reads the file once through two small buffers (the next chunk is read while the current one is
 * hashed); each part's body is a range of the file, read again as it is sent. The page cache serves the
 * second read, and memory holds no part: the default.
 */
export class RereadingReader extends OrderedReader {
  readonly #buffers: [Buffer, Buffer];
  /** The next chunk's read, started while the current chunk is hashed. */
  #prefetch: { offset: number; read: Promise<void> } | undefined;

  constructor(file: FileHandle, fileSize: number, partSize: number, chunkSize = HASH_CHUNK) {
    super(file, fileSize, partSize);
    const size = Math.max(1, Math.min(chunkSize, partSize, fileSize));
    this.#buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  }

  protected async readPart(part: PlannedPart, hash: (bytes: Buffer) => void): Promise<{ release(): void }> {
    const end = part.offset + part.size;
    for (let offset = part.offset; offset < end;) {
      const [buffer, spare] = this.#buffers;
      const length = Math.min(buffer.length, end - offset);
      const read = this.#prefetch?.offset === offset ? this.#prefetch.read : this.readFully(buffer, length, offset, part);
      const following = offset + length;
      this.#prefetch = undefined;
      if (following < this.fileSize) {
        const nextPart = partAt(Math.floor(following / this.partSize), this.fileSize, this.partSize);
        const nextLength = Math.min(spare.length, nextPart.offset + nextPart.size - following);
        this.#prefetch = { offset: following, read: this.readFully(spare, nextLength, following, nextPart) };
        // Awaited by the next chunk; should the upload stop first, its failure must not go unhandled.
        this.#prefetch.read.catch(() => undefined);
      }
      await read;
      hash(buffer.subarray(0, length));
      this.#buffers.reverse();
      offset = following;
    }
    return { release: () => undefined };
  }
}

/**
 * Reads each part once, whole, into one of `slots` part-sized buffers, hashes it there and sends it from
 * there: no second read, but `slots` × part_size of memory (for sources where reading twice is costly,
 * such as a network filesystem). A part waits for a free buffer.
 */
export class HoldingReader extends OrderedReader {
  readonly #free: Buffer[];
  #freed: (() => void) | undefined;

  constructor(file: FileHandle, fileSize: number, partSize: number, slots: number) {
    super(file, fileSize, partSize);
    const size = Math.min(partSize, fileSize);
    this.#free = Array.from({ length: Math.max(1, Math.min(slots, this.totalParts)) }, () => Buffer.allocUnsafe(size));
  }

  protected async readPart(part: PlannedPart, hash: (bytes: Buffer) => void): Promise<{ held: Buffer; release(): void }> {
    let buffer = this.#free.pop();
    while (!buffer) {
      await new Promise<void>((resolve) => (this.#freed = resolve));
      buffer = this.#free.pop();
    }
    await this.readFully(buffer, part.size, part.offset, part);
    const held = buffer.subarray(0, part.size);
    hash(held);
    const owned = buffer;
    return {
      held,
      release: () => {
        this.#free.push(owned);
        const wake = this.#freed;
        this.#freed = undefined;
        wake?.();
      },
    };
  }
}
