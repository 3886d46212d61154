/**
 * Every server rule's statement as a probe space: the dimensions the statement ranges over and the cases
 * drawn from them, as data. The features show each space's dimensions in a table that must equal these
 * (steps/server.steps.ts checks it), the spec renders them, and src/probe/cases.ts sends them. A case
 * runs in the default run, or only with `--server-depth wide`.
 */
import type { ServerRuleId } from '../protocol/rules.ts';
import type { ServerDepth } from './probe.ts';

export interface Dimension {
  readonly name: string;
  readonly values: readonly string[];
}

export interface ProbeCase {
  /** The case's values, joined: what findings and reproductions name it by. */
  readonly id: string;
  readonly values: Readonly<Record<string, string>>;
  /** What the server must answer, in words. */
  readonly expect: string;
  readonly depth: ServerDepth;
}

export interface ProbeSpace {
  readonly rule: ServerRuleId;
  readonly dimensions: readonly Dimension[];
  readonly cases: readonly ProbeCase[];
}

/** Where a part sits in the file. */
export const POSITIONS = ['first', 'middle', 'last'] as const;
export type Position = (typeof POSITIONS)[number];

/**
 * The file sizes a space is probed at, from the server's part_size: an exact multiple, one byte over, one
 * byte under, a remainder of half a part (each of a few parts where the server takes files under Box's 20 MB
 * minimum, else a little over it), one over 20 MB whatever the server takes, and a single part (under the
 * minimum when part_size is Box's, so a server may refuse to open it).
 */
export const FILE_SHAPES = ['exact multiple', 'one byte over', 'one byte under', 'half a part over', 'over 20 MB', 'a single part'] as const;
export type FileShape = (typeof FILE_SHAPES)[number];

/** The ways a part can be wrong, and the rule whose statement refuses each. */
export const PART_WAYS = {
  'a byte short': 'S-PART-SIZE-REJECT',
  'a byte long': 'S-PART-SIZE-REJECT',
  'a byte late': 'S-RANGE-ALIGN-REJECT',
  'a byte early': 'S-RANGE-ALIGN-REJECT',
  'no Content-Range': 'S-RANGE-MALFORMED-REJECT',
  'no "bytes " unit': 'S-RANGE-MALFORMED-REJECT',
  'not numbers': 'S-RANGE-MALFORMED-REJECT',
  'its end before its start': 'S-RANGE-MALFORMED-REJECT',
  'a total other than the file size': 'S-RANGE-MALFORMED-REJECT',
  'past the end of the file': 'S-RANGE-MALFORMED-REJECT',
  'a body a byte shorter than its range': 'S-RANGE-MALFORMED-REJECT',
  'a body a byte longer than its range': 'S-RANGE-MALFORMED-REJECT',
  'no Digest': 'S-DIGEST-REJECT',
  'a malformed Digest (hex, not base64)': 'S-DIGEST-REJECT',
  'the Digest of other bytes': 'S-DIGEST-REJECT',
} as const satisfies Record<string, ServerRuleId>;
export type PartWay = keyof typeof PART_WAYS;

/** Ways that do not exist at a position: nothing comes before the first part, and a long last part is a range past the end. */
function wayFits(way: PartWay, position: Position): boolean {
  if (way === 'a byte early') return position !== 'first';
  if (way === 'a byte long') return position !== 'last';
  if (way === 'past the end of the file') return position === 'last';
  return true;
}

/** The create fields and the values each is refused with. */
export const CREATE_VALUES = {
  folder_id: ['missing', 'empty', 'null', 'a boolean'],
  file_name: ['missing', 'empty', 'null', 'a number', '256 characters'],
  file_size: ['missing', 'empty', 'null', 'a string of digits', 'zero', 'negative', 'fractional', '2^53'],
} as const;
export type CreateField = keyof typeof CREATE_VALUES;

export const CREDENTIAL_WAYS = ['missing', 'wrong', 'without the Bearer scheme', 'another scheme', 'an empty Bearer'] as const;
export const ENDPOINTS = ['create', 'part', 'list', 'status', 'commit', 'abort'] as const;
export const SESSION_ENDPOINTS = ['status', 'list', 'part', 'commit', 'abort'] as const;
export const LISTED_STATES = ['none', 'in order', 'out of order', 'with a hole'] as const;
export const PAGES = ['the default page', 'limit 1, every page', 'limit 2', 'a limit past the count', 'an offset past the end'] as const;
export const COMMIT_DIGESTS = ['missing', 'of other bytes', 'malformed', 'hex, not base64', 'of the file without its last byte'] as const;
export const COMMIT_LIST_CHANGES = ['left out', 'replaced by its neighbour', 'with another part_id', 'with another size', 'from another session'] as const;
export const STATUS_AFTER = [
  'the last part stored',
  'the first part stored',
  'a middle part stored',
  'a part refused for its size',
  'a part refused for its Digest',
  'a part refused as an overlap',
  'a part refused for its token',
] as const;
export const OVERLAP_BYTES = ['the same bytes', 'other bytes'] as const;

/** The cross product of `dimensions`, each case kept where `expect` says what is expected of it. */
function space(
  rule: ServerRuleId,
  dimensions: readonly Dimension[],
  expect: (values: Readonly<Record<string, string>>) => string | undefined,
  depth: (values: Readonly<Record<string, string>>) => ServerDepth = () => 'default',
): ProbeSpace {
  let combos: Record<string, string>[] = [{}];
  for (const dimension of dimensions) combos = combos.flatMap((combo) => dimension.values.map((value) => ({ ...combo, [dimension.name]: value })));
  const cases = combos.flatMap((values): ProbeCase[] => {
    const expected = expect(values);
    return expected === undefined
      ? []
      : [{ id: dimensions.map((dimension) => values[dimension.name]).join(' · '), values, expect: expected, depth: depth(values) }];
  });
  return { rule, dimensions, cases };
}

const dimension = (name: string, values: readonly string[]): Dimension => ({ name, values });
const PART_FILES = ['half a part over', 'exact multiple'] as const;

/** A part space: the ways of `rule` at every position, in a file with a remainder, and (wide) in an exact multiple. */
function partSpace(rule: ServerRuleId): ProbeSpace {
  const ways = (Object.keys(PART_WAYS) as PartWay[]).filter((way) => PART_WAYS[way] === rule);
  return space(
    rule,
    [dimension('way', ways), dimension('position', POSITIONS), dimension('file', PART_FILES)],
    (values) => (wayFits(values.way as PartWay, values.position as Position) ? '4xx, and nothing stored' : undefined),
    // The last slot is where an exact multiple differs: its last part is full.
    (values) => (values.file === 'exact multiple' && values.position !== 'last' ? 'wide' : 'default'),
  );
}

export const SERVER_PROBE_SPACES: Readonly<Record<ServerRuleId, ProbeSpace>> = {
  'S-CREATE': space('S-CREATE', [dimension('file', FILE_SHAPES)], (values) =>
    values.file === 'a single part' ? '201 with the upload_session, or a 4xx for a file under 20 MB' : '201 with the upload_session',
  ),
  'S-CREATE-REJECT': space(
    'S-CREATE-REJECT',
    [dimension('field', Object.keys(CREATE_VALUES)), dimension('value', [...new Set(Object.values(CREATE_VALUES).flat())])],
    (values) =>
      (CREATE_VALUES[values.field as CreateField] as readonly string[]).includes(values.value ?? '') ? (values.value === '2^53' ? '4xx' : '400') : undefined,
  ),
  'S-PART-OK': space(
    'S-PART-OK',
    [dimension('position', [...POSITIONS, 'only']), dimension('file', FILE_SHAPES)],
    (values) => ((values.position === 'only') === (values.file === 'a single part') ? '200 with the part’s record' : undefined),
    (values) => (['half a part over', 'exact multiple', 'over 20 MB', 'a single part'].includes(values.file ?? '') ? 'default' : 'wide'),
  ),
  'S-PART-SIZE-REJECT': partSpace('S-PART-SIZE-REJECT'),
  'S-RANGE-ALIGN-REJECT': partSpace('S-RANGE-ALIGN-REJECT'),
  'S-RANGE-MALFORMED-REJECT': partSpace('S-RANGE-MALFORMED-REJECT'),
  'S-DIGEST-REJECT': partSpace('S-DIGEST-REJECT'),
  'S-OVERLAP-REJECT': space(
    'S-OVERLAP-REJECT',
    [dimension('position', POSITIONS), dimension('bytes', OVERLAP_BYTES)],
    () => '416 range_overlaps_existing_part, the stored part unchanged',
  ),
  'S-LIST-PARTS': space(
    'S-LIST-PARTS',
    [dimension('stored', LISTED_STATES), dimension('page', PAGES)],
    () => '200, exactly the stored parts due on the page, total_count',
  ),
  'S-STATUS': space('S-STATUS', [dimension('after', STATUS_AFTER)], () => 'num_parts_processed = the parts stored'),
  'S-COMMIT-OK': space(
    'S-COMMIT-OK',
    [dimension('file', FILE_SHAPES)],
    () => '201 with the file entry, its content the bytes sent',
    (values) => (values.file === 'half a part over' || values.file === 'a single part' ? 'wide' : 'default'),
  ),
  'S-COMMIT-DIGEST-REJECT': space('S-COMMIT-DIGEST-REJECT', [dimension('digest', COMMIT_DIGESTS)], () => '4xx, and no file'),
  'S-COMMIT-INCOMPLETE-REJECT': space(
    'S-COMMIT-INCOMPLETE-REJECT',
    [dimension('part', COMMIT_LIST_CHANGES), dimension('position', POSITIONS)],
    () => '4xx, and no file',
    (values) => (values.part === 'left out' || values.position === 'middle' ? 'default' : 'wide'),
  ),
  'S-ABORT': space('S-ABORT', [dimension('then', SESSION_ENDPOINTS)], () => '204, then a 4xx'),
  'S-AUTH': space('S-AUTH', [dimension('endpoint', ENDPOINTS), dimension('token', CREDENTIAL_WAYS)], () => '401, and nothing changed'),
  'S-ERROR-SHAPE': space('S-ERROR-SHAPE', [dimension('unknown session', SESSION_ENDPOINTS)], () => 'a 4xx in Box’s error JSON'),
};

/** The cases of `rule`'s space that run at `depth`. */
export function casesAt(rule: ServerRuleId, depth: ServerDepth): ProbeCase[] {
  return SERVER_PROBE_SPACES[rule].cases.filter((probeCase) => depth === 'wide' || probeCase.depth === 'default');
}
