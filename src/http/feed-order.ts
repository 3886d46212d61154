/** A body waiting for its turn to read its next chunk: earlier in the file first, then first come. */
interface Feeder {
  offset: number;
  ticket: number;
}

const before = (a: Feeder, b: Feeder): boolean => a.offset < b.offset || (a.offset === b.offset && a.ticket < b.ticket);

/**
 * Which of the file-range bodies being sent reads its next chunk: the one earliest in the file whose
 * socket takes more. A body is hungry from when it may read its next chunk until it hands the chunk
 * over; a later body reads on only when no earlier one is hungry at the next turn of the event loop,
 * that is, when the earlier bodies' sockets are full: a socket that took a chunk at once asks for the next
 * before that turn, and one that is full asks for it only after the peer has read.
 *
 * Why: where the server is the bottleneck (loopback, a fast network), bodies fed evenly share its
 * throughput and end together, and every slot then waits for its answer at once, sending nothing. Fed
 * earliest first, the parts end one after another and one part's wait overlaps the next part's
 * transfer. Where each connection is slow (a long, thin network), every socket fills and all bodies are
 * fed as before. A body's first chunk never waits, so its request starts as soon as it is sent.
 */
export class FeedOrder {
  #tickets = 0;
  readonly #hungry = new Set<Feeder>();
  readonly #parked: { feeder: Feeder; wake: () => void }[] = [];
  #checking = false;

  /** A new body, starting at `offset` in its file. */
  join(offset: number): Feeder {
    return { offset, ticket: this.#tickets++ };
  }

  /** The body may read its next chunk now (its first one). */
  take(feeder: Feeder): void {
    this.#hungry.add(feeder);
  }

  /** Resolves when the body may read its next chunk. */
  async turn(feeder: Feeder): Promise<void> {
    if (!this.#earlierHungry(feeder) && !this.#parked.some((parked) => before(parked.feeder, feeder))) {
      this.#hungry.add(feeder);
      return;
    }
    await new Promise<void>((wake) => {
      this.#parked.push({ feeder, wake });
      this.#parked.sort((a, b) => (before(a.feeder, b.feeder) ? -1 : 1));
    });
  }

  /** The body has its chunk (or is done): a later body may go, unless this one asks again first. */
  release(feeder: Feeder): void {
    if (!this.#hungry.delete(feeder) || this.#parked.length === 0 || this.#checking) return;
    this.#checking = true;
    setImmediate(() => {
      this.#checking = false;
      const earliest = this.#parked[0];
      if (!earliest || this.#earlierHungry(earliest.feeder)) return;
      this.#parked.shift();
      this.#hungry.add(earliest.feeder);
      earliest.wake();
    });
  }

  #earlierHungry(feeder: Feeder): boolean {
    for (const other of this.#hungry) if (before(other, feeder)) return true;
    return false;
  }
}
