import { digestHeaderFor, sha1Of } from '../protocol/digest.ts';
import { partAt } from '../protocol/parts.ts';
import { seededBytes } from '../protocol/seeded-bytes.ts';
import type { ProbeSession } from './session-model.ts';

/** The bytes of part `number` (1-based) as the plan cuts them. */
export function partBytes(file: ProbeSession, number: number): { offset: number; bytes: Buffer } {
  const part = partAt(number - 1, file.fileSize, file.session.part_size);
  return { offset: part.offset, bytes: seededBytes(file.seed, part.offset, part.size) };
}

export function bytesAt(file: ProbeSession, offset: number, length: number): Buffer {
  return seededBytes(file.seed, offset, length);
}

/** Bytes of the same length that are not the file's: what an overlapping part with other content sends. */
export function otherBytesAt(file: ProbeSession, offset: number, length: number): Buffer {
  return seededBytes(`${file.seed}:other`, offset, length);
}

/** The SHA-1 of each whole file the kit sends, computed once per session. */
export class WholeFiles {
  readonly #sha1s = new Map<string, Buffer>();

  sha1(file: ProbeSession): Buffer {
    let sha1 = this.#sha1s.get(file.session.id);
    if (!sha1) {
      sha1 = sha1Of(bytesAt(file, 0, file.fileSize));
      this.#sha1s.set(file.session.id, sha1);
    }
    return sha1;
  }

  digest(file: ProbeSession): string {
    return digestHeaderFor(this.sha1(file));
  }
}
