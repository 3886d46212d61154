/**
 * Requests in flight over time: the one computation the parallelism rules judge and the HTML timeline
 * draws. Pure.
 */
export interface Interval {
  readonly startMs: number;
  readonly endMs: number;
}

export interface InFlight {
  peak: number;
  /** When the peak was first reached (NaN with no requests). */
  peakAt: number;
  /** Time-weighted mean over [from, to) (the peak when that window is empty). */
  mean: number;
  /** The count after each start or end, in time order: a step function starting at 0. */
  steps: { at: number; count: number }[];
}

export function inFlight(intervals: readonly Interval[], from = -Infinity, to = Infinity): InFlight {
  const events: { at: number; delta: number }[] = [];
  for (const interval of intervals) events.push({ at: interval.startMs, delta: +1 }, { at: interval.endMs, delta: -1 });
  // Ends before starts at the same instant: a slot freed and refilled is not two in flight.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  let peakAt = Number.NaN;
  let area = 0;
  let last = Math.max(from, events[0]?.at ?? 0);
  const steps: InFlight['steps'] = [];
  for (const event of events) {
    const at = Math.min(Math.max(event.at, from), to);
    if (at > last) {
      area += current * (at - last);
      last = at;
    }
    current += event.delta;
    steps.push({ at: event.at, count: current });
    if (current > peak) {
      peak = current;
      peakAt = event.at;
    }
  }
  const span = Math.min(to, events.at(-1)?.at ?? 0) - Math.max(from, events[0]?.at ?? 0);
  return { peak, peakAt, mean: span > 0 ? area / span : peak, steps };
}
