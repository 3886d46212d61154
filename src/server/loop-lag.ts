/**
 * How late this process's event loop has been running, lately. A request's handler runs when the loop gets
 * to it, so a request's recorded start is late by about as long as the loop was held up just before (other
 * scenarios' servers and graders share the loop). Sampled by a 20 ms timer, started on first use, never
 * keeping the process alive.
 */
const SAMPLE_EVERY_MS = 20;
const KEPT_SAMPLES = 100; // 2 s of them

const samples: { at: number; lateMs: number }[] = [];
let timer: NodeJS.Timeout | undefined;
let expected = 0;

function sample(): void {
  const now = performance.now();
  samples.push({ at: now, lateMs: Math.max(0, now - expected) });
  if (samples.length > KEPT_SAMPLES) samples.shift();
  expected = now + SAMPLE_EVERY_MS;
}

/** The longest the loop was held up in the last `windowMs` (and up to now), in whole milliseconds. */
export function recentLoopLagMs(windowMs = 1_000): number {
  const now = performance.now();
  if (!timer) {
    expected = now + SAMPLE_EVERY_MS;
    timer = setInterval(sample, SAMPLE_EVERY_MS);
    timer.unref();
  }
  // The wait running now counts too: a loop held up since the last sample has not sampled it yet.
  let lag = Math.max(0, now - expected);
  for (let index = samples.length - 1; index >= 0; index -= 1) {
    const entry = samples[index];
    if (!entry || entry.at < now - windowMs) break;
    lag = Math.max(lag, entry.lateMs);
  }
  return Math.round(lag);
}
