/**
 * The rule catalogue: one entry per rule of the kit's contract. Features tag scenarios with these ids;
 * the grader and every report read their level, side and wording from here and nowhere else.
 */
export type RuleLevel = 'MUST' | 'SHOULD';
export type RuleSide = 'client' | 'server';

export interface GuideRef {
  /** Where the rule comes from, e.g. "Upload Part › Content Range". */
  readonly section: string;
  readonly url: string;
  /** The guide's sentence, restated. */
  readonly says: string;
}

/**
 * Where a rule beyond Box's guides gets its expectation: the guide is silent on what a client should do,
 * and real uploaders broke there in production. Such a rule is a SHOULD and its scenarios are tagged
 * @robustness as well (src/kit/traceability.ts checks both).
 */
export interface RobustnessRef {
  /** What went wrong in production, restated. */
  readonly why: string;
  /** The public bug threads that record it. */
  readonly sources: readonly { readonly title: string; readonly url: string }[];
}

export interface Rule {
  readonly id: string;
  readonly level: RuleLevel;
  readonly side: RuleSide;
  /** What the implementation under test does, completing "the client …" / "the server …". */
  readonly statement: string;
  readonly guide: GuideRef;
  /** Present on rules that go beyond the guide. */
  readonly robustness?: RobustnessRef;
}

const UPLOAD_PART = 'https://developer.box.com/guides/uploads/chunked/upload-part/';
const CREATE_SESSION = 'https://developer.box.com/guides/uploads/chunked/create-session/';
const COMMIT_SESSION = 'https://developer.box.com/guides/uploads/chunked/commit-session/';
const REFERENCE = 'https://developer.box.com/reference/';
const ERRORS = 'https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/';

const partSize: GuideRef = {
  section: 'Upload Part › Part Size',
  url: `${UPLOAD_PART}#part-size`,
  says: 'Every part has exactly the session’s part size; only the last part of the file may be smaller.',
};
const contentRange: GuideRef = {
  section: 'Upload Part › Content Range',
  url: `${UPLOAD_PART}#content-range`,
  says: 'Content-Range reads "bytes <lower>-<higher>/<total>"; the lower bound is a multiple of the part size and the higher bound one less than the next multiple.',
};
const digest: GuideRef = {
  section: 'Upload Part › Get SHA Digest',
  url: `${UPLOAD_PART}#get-sha-digest`,
  says: 'Each part carries a Digest header: "sha=" and the base64 of the part’s binary SHA-1 (openssl sha1 -binary | base64).',
};
const rangeOverlap: GuideRef = {
  section: 'Upload Part › Range Overlap',
  url: `${UPLOAD_PART}#range-overlap`,
  says: 'A part answered with range_overlaps_existing_part overlapped content already uploaded; the application must assume that part was not stored.',
};
const parallel: GuideRef = {
  section: 'Upload Part › Parallel uploads',
  url: `${UPLOAD_PART}#parallel-uploads`,
  says: 'Upload 3 to 5 parts at a time from a queue ordered by byte offset, lower offsets first; a failed part is retried before later parts are started.',
};
const response: GuideRef = {
  section: 'Upload Part › Response',
  url: `${UPLOAD_PART}#response`,
  says: 'Each part upload answers with the part’s id, offset, size and SHA-1; keep every one of these records, the commit needs them.',
};
const createSession: GuideRef = {
  section: 'Create Upload Session',
  url: CREATE_SESSION,
  says: 'A session is opened with the destination folder, the file name and the file’s size in bytes; the answer sets part_size, total_parts and the session endpoints.',
};
const commitSession: GuideRef = {
  section: 'Commit Upload Session',
  url: COMMIT_SESSION,
  says: 'The commit lists the part records and carries a Digest of the whole file; a 202 with Retry-After means the parts are still being processed, so commit again after that many seconds.',
};
const auth: GuideRef = {
  section: 'API reference › Authentication',
  url: `${REFERENCE}put-files-upload-sessions-id/`,
  says: 'Every call carries the access token as "Authorization: Bearer <token>".',
};
const errors: GuideRef = {
  section: 'Common errors',
  url: ERRORS,
  says: 'Errors come back as a ClientError JSON object with type "error", status, code, message and request_id.',
};
const rateLimits: GuideRef = {
  section: 'Rate limits',
  url: 'https://developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/',
  says: 'A call over the rate limit is answered 429 with a retry-after header, the seconds to wait before the call can be retried; retry with exponential back-off.',
};
const listParts: GuideRef = {
  section: 'API reference › List parts',
  url: `${REFERENCE}get-files-upload-sessions-id-parts/`,
  says: 'List parts returns the parts uploaded so far, a page at a time (offset, limit), with total_count.',
};

/**
 * Thresholds the client rules judge by. Each is written once: the checks, the statements and the step
 * texts are built from these.
 */
/** C-PARALLEL-MAX: part uploads in flight at once, at most. */
export const PARALLEL_MAX = 5;
/** C-PARALLEL-MIN: part uploads in flight while this many or more parts remain. */
export const PARALLEL_MIN = 3;
/**
 * C-PARALLEL-MIN is judged as a time-weighted mean over the window, which dips below PARALLEL_MIN each
 * time a slot is refilled (a round trip passes between one answer and the next request): half a part of
 * margin tells a client that keeps 3 slots busy from one that keeps 2.
 */
export const PARALLEL_MIN_MEAN = PARALLEL_MIN - 0.5;
/** The server "answers slowly" (C-PARALLEL-MIN's situation) when it delays every part answer by at least this. */
export const SLOW_SERVER_MS = 300;
/**
 * C-ORDER: first attempts that reach the server closer together than this count as simultaneous. Parts a
 * client starts together on separate connections reach the server in any order, some ms apart, and on a
 * loaded machine hundreds of ms apart (240 ms was seen with 10 in flight); a part the client started a
 * round later arrives a whole server answer later (600 ms in the scenarios that provoke order).
 */
export const ORDER_TOLERANCE_MS = 300;
/**
 * C-RETRY-FIRST, both ways round: a failure answered sooner than this after the last first attempt before
 * it may overtake parts the client had already started, so it is not judged; and a first attempt arriving
 * sooner than this after the failed answer may have been started on another part's answer that the client
 * read first (16 ms apart was seen), so it does not jump the retry. The scenarios that provoke the rule
 * fail a part at 300 ms and answer the others at 600 ms, with room both sides.
 */
export const RETRY_FIRST_TOLERANCE_MS = 150;
/**
 * Measurement tolerance on a Retry-After wait, as the server sees it (from the end of its answer to the
 * start of the next request). A client's timer is armed against its event loop's cached clock, so under
 * load a correct `sleep(Retry-After)` arrives early by as long as the client was kept off the CPU before
 * arming it (938 ms was seen for a 1 s wait, on two cores running four graded clients at once). 200 ms
 * still tells a client that honours Retry-After from one that retries at once or on its own backoff.
 */
export const RETRY_AFTER_SLACK_MS = 200;

interface ClientRuleText {
  readonly level: RuleLevel;
  readonly statement: string;
  readonly guide: GuideRef;
  readonly robustness?: RobustnessRef;
}

/**
 * The client rules, keyed by id: `ClientRuleId` is derived from these keys, and the checks and the step
 * texts are records over it, so a rule without either does not compile. Each statement says exactly what
 * is judged. Every client run is judged on every rule whose statement it can show.
 */
const CLIENT_RULES = {
  'C-CREATE': {
    level: 'MUST',
    statement:
      'opens the session with POST …/files/upload_sessions, a JSON body with folder_id, file_name and file_size equal to the file’s length (other fields allowed)',
    guide: createSession,
  },
  'C-AUTH': {
    level: 'MUST',
    statement: 'sends Authorization: Bearer <token> on every request (the scheme name is case-insensitive, RFC 9110 §11.1)',
    guide: auth,
  },
  'C-PART-SIZE': {
    level: 'MUST',
    statement: 'sends every part but the last with exactly part_size bytes, the last with 1..part_size bytes; never an empty part',
    guide: partSize,
  },
  'C-RANGE-FORMAT': {
    level: 'MUST',
    statement: "sends Content-Range: bytes <lo>-<hi>/<total> on every part, and a body of exactly hi-lo+1 bytes that are the file's bytes lo..hi",
    guide: contentRange,
  },
  'C-RANGE-ALIGN': { level: 'MUST', statement: 'starts every part at a multiple of part_size', guide: contentRange },
  'C-RANGE-UPPER': { level: 'MUST', statement: 'ends every part but the last at lo+part_size-1, the last at file size - 1', guide: contentRange },
  'C-RANGE-TOTAL': { level: 'MUST', statement: 'gives the file size as the Content-Range total', guide: contentRange },
  'C-DIGEST': { level: 'MUST', statement: 'sends Digest: sha=<base64 SHA-1 of that body> on every part request, retries included', guide: digest },
  'C-CONTENT-TYPE': {
    level: 'SHOULD',
    statement: 'sends parts as Content-Type: application/octet-stream',
    guide: { ...auth, section: 'API reference › Upload part', says: 'A part is sent as raw bytes with Content-Type application/octet-stream.' },
  },
  'C-NO-OVERLAP': {
    level: 'MUST',
    statement:
      'never sends a part whose range overlaps another part it sent, except a retry of exactly the same range after the earlier attempt failed without being acknowledged (judged among the ranges cut on part boundaries; a range off them is C-RANGE-ALIGN’s or C-RANGE-UPPER’s)',
    guide: rangeOverlap,
  },
  'C-COVERAGE': {
    level: 'MUST',
    statement:
      'has every byte of the file acknowledged exactly once before it commits (judged at every commit, whatever the reason for a hole, except a range the commit lists although the server refused it as an overlap: C-OVERLAP-NOT-PERSISTED’s; a part is acknowledged when the server returns its record, in the part’s answer or in a list of the parts)',
    guide: partSize,
  },
  'C-ORDER': {
    level: 'SHOULD',
    statement: `starts parts in increasing offset order (retries excepted): judged on the first attempt of each range as it reaches the server; one that arrives more than ${ORDER_TOLERANCE_MS} ms after the first attempt of a part at a higher offset fails, arrivals closer together count as simultaneous`,
    guide: parallel,
  },
  'C-PARALLEL-MAX': { level: 'SHOULD', statement: `has at most ${PARALLEL_MAX} part uploads in flight at once`, guide: parallel },
  'C-PARALLEL-MIN': {
    level: 'SHOULD',
    statement: `has at least ${PARALLEL_MIN} part uploads in flight while ${PARALLEL_MIN} or more parts remain, when the server answers slowly: judged where the server delays every part answer by ${SLOW_SERVER_MS} ms or more and injects no failure, as a time-weighted mean of at least ${PARALLEL_MIN_MEAN} from the first part’s start until fewer than ${PARALLEL_MIN} parts remain unacknowledged`,
    guide: parallel,
  },
  'C-RETRY': {
    level: 'SHOULD',
    statement: `retries a part that failed with 5xx, 429 (after Retry-After) or a dropped connection, and completes the upload (judged wherever a part failed so; a retry may reach the server up to ${RETRY_AFTER_SLACK_MS} ms before Retry-After has passed; where the server had stored the part despite the failed answer, listing the parts instead of resending it counts as the retry, and completing is C-RECOVER-STORED’s)`,
    guide: parallel,
  },
  'C-RETRY-FIRST': {
    level: 'SHOULD',
    statement: `retries a failed part before starting any part beyond those already in flight: no first attempt of another part reaches the server more than ${RETRY_FIRST_TOLERANCE_MS} ms (more by as long as the kit's own event loop was held up just before it arrived) after a failed answer (5xx, 429, dropped, or range_overlaps_existing_part for a range the client had not sent twice and the server did not hold from an earlier attempt) and before its retry, or the list of the parts where the server had stored the failed part; judged on each failure answered at least ${RETRY_FIRST_TOLERANCE_MS} ms after the last first attempt before it (closer together, the server cannot tell what the client had started or seen)`,
    guide: parallel,
  },
  'C-OVERLAP-NOT-PERSISTED': {
    level: 'MUST',
    statement:
      'after range_overlaps_existing_part, treats that part as not persisted: never lists it in the commit, never reports success for a file missing that range (judged on every commit after such an answer; a record the server itself returned for that range, in a list of the parts or as the conflicting part, is not the refused part; exiting 0 without an intact stored file is C-SUCCESS-HONEST’s finding)',
    guide: rangeOverlap,
  },
  'C-COMMIT-PARTS': {
    level: 'MUST',
    statement: 'commits with {parts: [...]} holding each acknowledged part as the server returned it (part_id, offset, size, sha1), one per range',
    guide: response,
  },
  'C-COMMIT-SORTED': { level: 'SHOULD', statement: 'lists the commit parts sorted by offset', guide: commitSession },
  'C-COMMIT-DIGEST': { level: 'MUST', statement: 'commits with Digest: sha=<base64 SHA-1 of the whole file>', guide: commitSession },
  'C-COMMIT-RETRY-AFTER': {
    level: 'MUST',
    statement: `on a 202 commit answer, waits at least Retry-After seconds and commits again until 201 (the next commit may reach the server up to ${RETRY_AFTER_SLACK_MS} ms early)`,
    guide: commitSession,
  },
  'C-SUCCESS-HONEST': {
    level: 'MUST',
    statement:
      'exits 0 only when the commit returned 201 and the stored file equals the source byte for byte, non-zero otherwise (judged on every run; a client killed at the timeout reported neither)',
    guide: commitSession,
  },
  'C-RATE-LIMIT': {
    level: 'SHOULD',
    statement: `on a 429 answer to the session create or the commit, sends that request again, no sooner than Retry-After seconds later (judged wherever a create or a commit was answered 429; the next one may reach the server up to ${RETRY_AFTER_SLACK_MS} ms early; Box names the header retry-after, in lower case)`,
    guide: rateLimits,
  },
  'C-RECOVER-STORED': {
    level: 'SHOULD',
    statement:
      'completes the upload with the right bytes when the server stored a part although its answer failed (5xx or a dropped connection), e.g. by listing the parts before or after a retry and committing the stored record (judged wherever the server did so; a retry of that part is answered range_overlaps_existing_part, as Box does; a commit without that record is judged by C-COVERAGE, C-COMMIT-PARTS or C-OVERLAP-NOT-PERSISTED, a failure never followed up by C-RETRY)',
    guide: {
      ...listParts,
      section: 'Beyond the guide (box-java-sdk PR #781, rclone#2054) › API reference › List parts',
      says: 'The guide is silent on a part stored although its answer failed; List parts returns the parts uploaded so far, with their records.',
    },
    robustness: {
      why: 'Box has stored a part and still answered its upload with a 500 or a dropped connection; the retry of that part is then refused with range_overlaps_existing_part, and an uploader that only retries never completes.',
      sources: [
        { title: 'box-java-sdk PR #781: check that a part was uploaded before retrying after a 500', url: 'https://github.com/box/box-java-sdk/pull/781' },
        { title: 'rclone#2054: Box multipart upload refused with range_overlaps_existing_part', url: 'https://github.com/rclone/rclone/issues/2054' },
      ],
    },
  },
} as const satisfies Record<`C-${string}`, ClientRuleText>;

export type ClientRuleId = keyof typeof CLIENT_RULES;
export const CLIENT_RULE_IDS = Object.keys(CLIENT_RULES) as ClientRuleId[];

export function isClientRuleId(id: string): id is ClientRuleId {
  return Object.hasOwn(CLIENT_RULES, id);
}

interface ServerRuleText {
  readonly level: RuleLevel;
  readonly statement: string;
  readonly guide: GuideRef;
}

/**
 * The server rules, keyed by id like the client rules: `ServerRuleId` is derived from these keys, and the
 * probe spaces (src/probe/spaces.ts) and the answer checks (src/grader/server-findings.ts) are records over
 * it, so a rule without either does not compile. Each statement says the whole of what is probed.
 */
const SERVER_RULES = {
  'S-CREATE': {
    level: 'MUST',
    statement:
      'answers a valid create with 201 and an upload_session: id, type, part_size > 0, total_parts = ceil(file_size/part_size), num_parts_processed 0, session_endpoints with absolute upload_part, commit, abort, list_parts, status (every valid create the kit sends is judged: files of an exact multiple of part_size, one byte over, one byte under, and a single part)',
    guide: createSession,
  },
  'S-CREATE-REJECT': {
    level: 'MUST',
    statement:
      'rejects a create with a missing or invalid folder_id, file_name (empty included) or file_size (zero, negative, fractional, not a number) with 400: each field missing, empty, null, of the wrong JSON type, and file_size zero, negative, fractional or past 2^53',
    guide: createSession,
  },
  'S-PART-OK': {
    level: 'MUST',
    statement:
      'answers a correct part with 200 {part: {part_id, offset, size, sha1}}, offset/size matching the range and sha1 the lowercase hex SHA-1 of the bytes, as Box sends it (every part answer the kit sees is judged against the bytes it sent: first, middle, last and only parts, in any order)',
    guide: response,
  },
  'S-PART-SIZE-REJECT': {
    level: 'MUST',
    statement:
      'rejects a part whose size is not part_size with a 4xx and does not persist it, unless it is the last part and ends exactly at the file’s end (a short part in the last slot that stops before the end is refused too): parts a byte short and a byte long, at the first, a middle and the last position',
    guide: partSize,
  },
  'S-RANGE-ALIGN-REJECT': {
    level: 'MUST',
    statement:
      'rejects a part whose start is not a multiple of part_size (the last part included) with a 4xx and does not persist it: a byte late and a byte early, at the first, a middle and the last position',
    guide: contentRange,
  },
  'S-RANGE-MALFORMED-REJECT': {
    level: 'MUST',
    statement:
      'rejects a missing or malformed Content-Range, a range past the file size, or a body whose length differs from the range, with a 4xx (never 5xx) and does not persist it, at every position of the file',
    guide: contentRange,
  },
  'S-DIGEST-REJECT': {
    level: 'MUST',
    statement: 'rejects a part with a missing, malformed or mismatching Digest with a 4xx and does not persist it, at every position of the file',
    guide: digest,
  },
  'S-OVERLAP-REJECT': {
    level: 'MUST',
    statement:
      'rejects a part overlapping a persisted part with 416 range_overlaps_existing_part, keeps the existing part intact (same record, same bytes in the committed file): the kit sends the same range again with the same bytes and with other bytes, at the first, a middle and the last position, then lists the parts and commits, and reads the file back where the server serves it',
    guide: rangeOverlap,
  },
  'S-LIST-PARTS': {
    level: 'MUST',
    statement:
      'lists exactly the persisted parts, whatever order they arrived in, with offset/limit paging (a page past the end is empty, not an error) and total_count (judged against the parts the kit sent, on every listing it sees, after every stored and every refused part; with one part more stored than the default page the answer states, paged by offset alone and with a limit)',
    guide: listParts,
  },
  'S-STATUS': {
    level: 'MUST',
    statement:
      'returns the session on GET status, num_parts_processed counting persisted parts (every stored part, the short last one included; refused parts never), read after every stored and every refused part (a count still below them is read again for 3 s, as a server may be processing parts; no status answer the kit sees may count more)',
    guide: {
      section: 'API reference › Get upload session',
      url: `${REFERENCE}get-files-upload-sessions-id/`,
      says: 'Get upload session returns the session, with the number of parts processed so far.',
    },
  },
  'S-COMMIT-OK': {
    level: 'MUST',
    statement:
      'answers a complete commit with the right digest with 201 (possibly after 202s, within the answer budget) and a file entry of the right size (and sha1, and content where the server serves GET /files/{id}/content), judged on every such commit the kit makes: files of an exact multiple of part_size, one byte over and one byte under',
    guide: commitSession,
  },
  'S-COMMIT-DIGEST-REJECT': {
    level: 'MUST',
    statement:
      'rejects a commit whose Digest is missing, malformed or does not match the assembled file with a 4xx; no file is created (a correct commit afterwards is answered 201)',
    guide: commitSession,
  },
  'S-COMMIT-INCOMPLETE-REJECT': {
    level: 'MUST',
    statement:
      'rejects a commit whose parts list does not cover the whole file (a part left out of the list, first, middle or last, even when the server stored it; or one replaced by a duplicate, an altered record or another session’s part) with a 4xx; no file is created (a complete commit afterwards is answered 201)',
    guide: commitSession,
  },
  'S-ABORT': {
    level: 'MUST',
    statement:
      'answers DELETE with 204; the session is gone afterwards (4xx on every later call: status, list, part, commit, abort); every abort of an open session the kit makes is judged',
    guide: {
      section: 'API reference › Remove upload session',
      url: `${REFERENCE}delete-files-upload-sessions-id/`,
      says: 'Aborting a session answers 204 and discards it with its parts.',
    },
  },
  'S-AUTH': {
    level: 'MUST',
    statement:
      'answers a missing, wrong or malformed token with 401 on every endpoint (create, part, list, status, commit, abort) and changes nothing (the session’s parts and status are as before, and a correct commit afterwards is answered 201)',
    guide: auth,
  },
  'S-ERROR-SHAPE': {
    level: 'SHOULD',
    statement: 'sends every error as Box’s ClientError JSON (type "error", status, code, message, request_id), judged on every error answer the kit sees',
    guide: errors,
  },
} as const satisfies Record<`S-${string}`, ServerRuleText>;

export type ServerRuleId = keyof typeof SERVER_RULES;
export const SERVER_RULE_IDS = Object.keys(SERVER_RULES) as ServerRuleId[];

export function isServerRuleId(id: string): id is ServerRuleId {
  return Object.hasOwn(SERVER_RULES, id);
}

export type RuleId = ClientRuleId | ServerRuleId;

export const RULES: readonly Rule[] = [
  // Client rules: judged from the traffic the client sends to the simulated server.
  ...CLIENT_RULE_IDS.map((id): Rule => ({ id, side: 'client', ...CLIENT_RULES[id] })),
  // Server rules: judged by driving the server with the reference uploader and crafted requests.
  ...SERVER_RULE_IDS.map((id): Rule => ({ id, side: 'server', ...SERVER_RULES[id] })),
];

const BY_ID = new Map(RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}

export function rulesFor(side: RuleSide): Rule[] {
  return RULES.filter((rule) => rule.side === side);
}

/** A scenario tag that names a rule: `@C-…` or `@S-…`. */
export const RULE_TAG = /^@([CS]-[A-Z0-9-]+)$/;
