import { type Hash, createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Session, UploadStore } from './store.ts';

const READ_CHUNK = 1024 * 1024;
/** How much is hashed in one turn of the event loop, at most (about 5 ms). */
const TURN_BYTES = 8 * READ_CHUNK;
/** Every session's reads go through this one buffer: each chunk is hashed before the next await. */
const readBuffer = Buffer.allocUnsafe(READ_CHUNK);

/** A session's whole-file SHA-1 so far: every byte before `offset`, the stored parts `paths` (of `sizes`) in order. */
interface RunningDigest {
  hash: Hash;
  offset: number;
  paths: string[];
  sizes: number[];
  /** Hashing the parts from `offset` on, while there are. */
  pump?: Promise<void>;
  /** A part could not be read back: the hash is no longer trusted, and the commit reads every part. */
  broken: boolean;
}

/** What the running digest reads of a session. */
export type HashedSession = Pick<Session, 'parts' | 'fileSize' | 'state'>;

const digests = new WeakMap<HashedSession, RunningDigest>();

/**
 * Call when a part is stored: the session's whole-file SHA-1 advances over every stored part that
 * continues it, in offset order, reading each back from its file (just written: the page cache serves
 * it). Parts that arrive in order are hashed as they arrive, and the commit only finishes the rest.
 */
export function hashStoredParts(session: HashedSession): void {
  let running = digests.get(session);
  if (!running) {
    running = { hash: createHash('sha1'), offset: 0, paths: [], sizes: [], broken: false };
    digests.set(session, running);
  }
  if (running.pump || running.broken) return;
  const state = running;
  state.pump = advance(session, state)
    .catch(() => {
      state.broken = true;
    })
    .finally(() => {
      state.pump = undefined;
      // A part that continues the hash may have been stored after the last look: go on with it.
      if (!state.broken && session.state === 'open' && session.parts.has(state.offset)) hashStoredParts(session);
    });
}

/**
 * The SHA-1 of the concatenation of `paths` (the parts a commit lists, in offset order): the running
 * digest, caught up, when it covers exactly those parts; otherwise every part read again.
 */
export async function wholeFileDigest(session: HashedSession, paths: readonly string[], store: Pick<UploadStore, 'digestOf'>): Promise<Buffer> {
  const running = digests.get(session);
  if (running) {
    while (running.pump) await running.pump;
    const same =
      !running.broken && running.offset === session.fileSize && running.paths.length === paths.length && running.paths.every((path, i) => path === paths[i]);
    // A copy: a refused commit leaves the running hash as it was, for the next commit.
    if (same && (await stillWhole(running))) return running.hash.copy().digest();
  }
  return store.digestOf(paths);
}

/** Whether every part file hashed is still there, whole (they become the file): otherwise the full pass finds what is wrong. */
async function stillWhole(running: RunningDigest): Promise<boolean> {
  const sizes = await Promise.all(
    running.paths.map((path) =>
      stat(path).then(
        (stats) => stats.size,
        () => -1,
      ),
    ),
  );
  return sizes.every((size, i) => size === running.sizes[i]);
}

/**
 * Hashes the stored parts that continue the digest. The part files were just written, so the page cache
 * serves them, and they are read synchronously, up to TURN_BYTES per turn of the event loop: read through
 * the thread pool a chunk per turn, the digest fell behind the parts arriving at the same time, and a
 * 1 GiB commit waited up to 0.4 s for it to catch up.
 */
async function advance(session: HashedSession, state: RunningDigest): Promise<void> {
  let turn = 0;
  for (let part = session.parts.get(state.offset); part && !state.broken; part = session.parts.get(state.offset)) {
    const fd = openSync(part.path, 'r');
    try {
      for (let done = 0; done < part.size;) {
        if (turn >= TURN_BYTES) {
          await nextTurn();
          turn = 0;
        }
        const bytesRead = readSync(fd, readBuffer, 0, Math.min(readBuffer.length, part.size - done), done);
        if (bytesRead === 0) throw new Error(`part file ${part.path} is shorter than its ${part.size} bytes`);
        state.hash.update(readBuffer.subarray(0, bytesRead));
        done += bytesRead;
        turn += bytesRead;
      }
    } finally {
      closeSync(fd);
    }
    state.offset += part.size;
    state.paths.push(part.path);
    state.sizes.push(part.size);
  }
}
