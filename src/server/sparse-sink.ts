import { close, ftruncate, open, write } from 'node:fs';
import { Writable } from 'node:stream';

/** Runs of zeros are recognised in windows of this size; a window holding any other byte is written whole. */
const WINDOW = 64 * 1024;
const ZEROS = Buffer.alloc(WINDOW);

/**
 * A part file written sparse: every 64 KiB window of zeros becomes a hole, so a part of zeros costs no disk
 * blocks, only its size (and the SHA-1 its record carries). Reading it back gives the zeros again, so
 * digests at commit and the file's content are exact. What lets the kit take a file of several GiB cut
 * from a sparse source (the @slow scenarios) while the disk holds little.
 */
export class SparseFileWriter extends Writable {
  readonly #path: string;
  #fd: number | undefined;
  #position = 0;

  constructor(path: string) {
    super({ highWaterMark: WINDOW });
    this.#path = path;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, 'w', (error, fd) => {
      this.#fd = fd;
      callback(error);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const start = this.#position;
    this.#position += chunk.length;
    this.#writeWindows(chunk, start, 0, callback);
  }

  #writeWindows(chunk: Buffer, start: number, from: number, callback: (error?: Error | null) => void): void {
    let at = from;
    // Skip windows of zeros; write the first window that is not, then go on from its end.
    while (at < chunk.length) {
      const end = Math.min(at + WINDOW, chunk.length);
      const window = chunk.subarray(at, end);
      if (!window.equals(ZEROS.subarray(0, window.length))) {
        write(this.#fd ?? -1, window, 0, window.length, start + at, (error) => {
          if (error) return callback(error);
          this.#writeWindows(chunk, start, end, callback);
        });
        return;
      }
      at = end;
    }
    callback();
  }

  /** A trailing hole is made by the file's length, not by writing. */
  override _final(callback: (error?: Error | null) => void): void {
    ftruncate(this.#fd ?? -1, this.#position, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#fd === undefined) return callback(error);
    close(this.#fd, (closeError) => callback(error ?? closeError));
    this.#fd = undefined;
  }
}
