// What a soak section found: counts, invariants that must hold (each with the first offending requests
// and answers), and the lines it prints.
import type { WireResult } from './wire.ts';

export interface Sample {
  request: string;
  answer: string;
}

export interface InvariantResult {
  /** What must hold, e.g. "answers 5xx other than injected faults". Its count must be 0. */
  name: string;
  count: number;
  samples: Sample[];
}

export interface SectionResult {
  title: string;
  /** Figures, one per line, already formatted. */
  lines: string[];
  invariants: InvariantResult[];
  /** Why the section (or part of it) did not run. */
  skipped?: string[];
}

const SAMPLES_KEPT = 5;

/** Invariants of one section: declared up front so a clean run prints them with 0. */
export class Invariants {
  readonly #results = new Map<string, InvariantResult>();

  constructor(names: readonly string[]) {
    for (const name of names) this.#results.set(name, { name, count: 0, samples: [] });
  }

  readonly #sampleKeys = new Map<string, Set<string>>();

  /** Counts a violation; keeps its sample if fewer than 5 are kept and none of the same `kind` is. */
  violate(name: string, sample: Sample, kind = sample.request): void {
    let result = this.#results.get(name);
    if (!result) {
      result = { name, count: 0, samples: [] };
      this.#results.set(name, result);
    }
    result.count += 1;
    const kinds = this.#sampleKeys.get(name) ?? new Set<string>();
    this.#sampleKeys.set(name, kinds);
    if (result.samples.length < SAMPLES_KEPT && !kinds.has(kind)) {
      kinds.add(kind);
      result.samples.push(sample);
    }
  }

  /** Records a violation when `ok` is false; `kind` keeps the samples varied (one per kind). */
  check(name: string, ok: boolean, sample: () => Sample, kind?: string): void {
    if (!this.#results.has(name)) this.#results.set(name, { name, count: 0, samples: [] });
    if (!ok) {
      const made = sample();
      this.violate(name, made, kind ?? made.request);
    }
  }

  all(): InvariantResult[] {
    return [...this.#results.values()];
  }
}

/** Counts by key, printed largest first. */
export class Counter {
  readonly #counts = new Map<string, number>();
  add(key: string | number, by = 1): void {
    this.#counts.set(String(key), (this.#counts.get(String(key)) ?? 0) + by);
  }
  get(key: string | number): number {
    return this.#counts.get(String(key)) ?? 0;
  }
  get total(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }
  format(order: 'key' | 'count' = 'key'): string {
    const entries = [...this.#counts.entries()];
    entries.sort(order === 'key' ? (a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }) : (a, b) => b[1] - a[1]);
    return entries.map(([key, count]) => `${key} ${count.toLocaleString('en')}`).join(' · ') || 'none';
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Keeps at most `limit` values, evenly thinned, so percentiles of a long run cost bounded memory. */
export class Reservoir {
  readonly values: number[] = [];
  #seen = 0;
  constructor(private readonly limit = 20_000) {}
  add(value: number): void {
    this.#seen += 1;
    if (this.values.length < this.limit) this.values.push(value);
    else {
      // Deterministic thinning: replace the slot the count points at.
      this.values[this.#seen % this.limit] = value;
    }
  }
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length.toLocaleString('en')} chars)` : text);

export function describeRequest(method: string, target: string, note = ''): string {
  const printable = target.replace(/[^\x20-\x7e]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${method} ${clip(printable, 120)}${note ? ` [${note}]` : ''}`;
}

export function describeResult(result: WireResult): string {
  switch (result.kind) {
    case 'answer': {
      const body = result.answer.body.toString('utf8').replace(/\s+/g, ' ');
      const close = result.answer.headers.connection ? ` (connection: ${result.answer.headers.connection})` : '';
      return `${result.answer.status}${close} ${clip(body, 200) || '(empty body)'} after ${result.answer.latencyMs.toFixed(0)} ms`;
    }
    case 'closed':
      return `connection closed after ${result.afterMs.toFixed(0)} ms without a complete answer${result.partial ? ` (${result.partial} bytes of one)` : ''}`;
    case 'timeout':
      return 'no answer within the deadline';
    case 'refused':
      return `connection refused (${result.code})`;
  }
}

export const mib = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? 'n/a' : `${value.toFixed(0)} MiB`);
export const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(value < 10 ? 1 : 0)} ms`);

export function formatSection(result: SectionResult): string {
  const out = [`\n== ${result.title}`];
  for (const line of result.lines) out.push(`  ${line}`);
  for (const reason of result.skipped ?? []) out.push(`  SKIPPED: ${reason}`);
  for (const invariant of result.invariants) {
    out.push(`  ${invariant.count === 0 ? 'ok  ' : 'FAIL'} ${invariant.name}: ${invariant.count.toLocaleString('en')}`);
    for (const sample of invariant.samples) out.push(`         ${sample.request}\n           -> ${sample.answer}`);
  }
  return out.join('\n');
}

export const failedInvariants = (results: readonly SectionResult[]) =>
  results.flatMap((result) => result.invariants.filter((invariant) => invariant.count > 0));
