// The order in which file-range bodies sent at once read their next chunk (src/http/feed-order.ts):
// earliest in the file first, a later body only when the earlier ones' sockets are full.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { FeedOrder } from '../src/http/feed-order.ts';

/** A turn asked for, and whether it has been given yet. */
function watch(turn: Promise<void>): { given: () => boolean } {
  let given = false;
  void turn.then(() => (given = true));
  return { given: () => given };
}

/** Two turns of the event loop: the one FeedOrder decides in, and one for the woken promise to settle. */
const settle = async () => {
  await nextTurn();
  await nextTurn();
};

describe('FeedOrder', () => {
  test('a body whose socket took its chunk at once keeps the turn; a later one waits', async () => {
    const order = new FeedOrder();
    const earlier = order.join(0);
    const later = order.join(8);
    order.take(earlier);
    order.take(later);
    order.release(later);
    const laterTurn = watch(order.turn(later));
    order.release(earlier);
    // The earlier body's socket drained before the loop turned: it asks again at once and is served.
    await order.turn(earlier);
    await settle();
    assert.equal(laterTurn.given(), false, 'the later body read on while the earlier one was still being fed');
    // Now its socket is full: it does not ask again, and the later body goes.
    order.release(earlier);
    await settle();
    assert.equal(laterTurn.given(), true, 'the later body waited although the earlier one could take no more');
  });

  test('waiting bodies go earliest in the file first, one at a time', async () => {
    const order = new FeedOrder();
    const [first, second, third] = [order.join(0), order.join(8), order.join(16)];
    order.take(first);
    const thirdTurn = watch(order.turn(third));
    const secondTurn = watch(order.turn(second));
    order.release(first);
    await settle();
    assert.deepEqual([secondTurn.given(), thirdTurn.given()], [true, false]);
    order.release(second);
    await settle();
    assert.equal(thirdTurn.given(), true);
  });

  test('a body that ends lets the next one go', async () => {
    const order = new FeedOrder();
    const ending = order.join(0);
    const waiting = order.join(8);
    order.take(ending);
    const turn = watch(order.turn(waiting));
    order.release(ending);
    await settle();
    assert.equal(turn.given(), true);
  });

  test('a body asking while none is being fed reads at once; a later one then waits for it', async () => {
    const order = new FeedOrder();
    const later = order.join(16);
    await order.turn(later);
    order.release(later);
    const retried = order.join(0);
    order.take(retried);
    order.release(retried);
    const retriedTurn = watch(order.turn(retried));
    const laterTurn = watch(order.turn(later));
    await settle();
    assert.deepEqual([retriedTurn.given(), laterTurn.given()], [true, false]);
    order.release(retried);
    await settle();
    assert.equal(laterTurn.given(), true);
  });
});
