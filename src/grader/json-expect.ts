/**
 * A JSON answer judged against the value the kit expects, by chai's deep equality, with its
 * AssertionError turned into a problem sentence: what was judged, then only the fields that differ,
 * each with the value that came and the one expected. Findings stay strings: no chai object leaves here.
 */
import { isDeepStrictEqual } from 'node:util';
import { AssertionError, expect } from 'chai';
import { isRecord } from '../protocol/shapes.ts';

/** Differences named, at most: enough to show what went wrong, few enough to read in a report cell. */
const MAX_DIFFERENCES = 6;
/** A value longer than this, as JSON, is cut: a report names it, the server's answer holds it whole. */
const MAX_VALUE_CHARS = 100;

/** A value as evidence: compact JSON, cut when long; a key the answer lacks is "missing". */
function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  const json = JSON.stringify(value);
  return json.length > MAX_VALUE_CHARS ? `${json.slice(0, MAX_VALUE_CHARS - 1)}…` : json;
}

const pathTo = (path: string, key: string | number) =>
  typeof key === 'number' || !/^[A-Za-z_]\w*$/.test(key) ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/** The innermost places where `actual` and `expected` differ, as [path, actual, expected]. */
function differences(actual: unknown, expected: unknown, path: string, out: [string, unknown, unknown][]): void {
  if (isDeepStrictEqual(actual, expected)) return;
  if (isRecord(actual) && isRecord(expected)) {
    const keys = [...Object.keys(expected), ...Object.keys(actual).filter((key) => !Object.hasOwn(expected, key))];
    for (const key of keys) differences(actual[key], expected[key], pathTo(path, key), out);
  } else if (Array.isArray(actual) && Array.isArray(expected)) {
    for (let index = 0; index < Math.max(actual.length, expected.length); index++) differences(actual[index], expected[index], pathTo(path, index), out);
  } else {
    out.push([path, actual, expected]);
  }
}

/** "size is 99, expected 100; sha1 is …": the differing fields only, `expectedAs` naming what the expected value is. */
export function describeDifferences(actual: unknown, expected: unknown, expectedAs = 'expected'): string {
  const found: [string, unknown, unknown][] = [];
  differences(actual, expected, '', found);
  // Values chai tells apart and node does not (none in parsed JSON): the whole values are the evidence.
  if (found.length === 0) found.push(['', actual, expected]);
  const named = found.slice(0, MAX_DIFFERENCES).map(([path, got, wanted]) => `${path ? `${path} is` : 'it is'} ${shown(got)}, ${expectedAs} ${shown(wanted)}`);
  if (found.length > MAX_DIFFERENCES) named.push(`and ${found.length - MAX_DIFFERENCES} more difference(s)`);
  return named.join('; ');
}

/**
 * `what` followed by how `actual` differs from `expected` (chai's `deep.equal`), or undefined when it
 * does not. Missing keys are compared as `undefined`, so pick the judged fields of an answer for `actual`.
 */
export function jsonMismatch(what: string, actual: unknown, expected: unknown, expectedAs?: string): string | undefined {
  try {
    expect(actual).to.deep.equal(expected);
    return undefined;
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    const { actual: got, expected: wanted } = error as { actual?: unknown; expected?: unknown };
    return `${what}: ${describeDifferences(got, wanted, expectedAs)}`;
  }
}

/** The fields `keys` of a JSON answer (undefined where it has none), for `jsonMismatch`. */
export function fieldsOf<K extends string>(value: unknown, keys: readonly K[]): Record<K, unknown> {
  const source = isRecord(value) ? value : {};
  return Object.fromEntries(keys.map((key) => [key, source[key]])) as Record<K, unknown>;
}
