/**
 * One server scenario's state and the procedures its steps share: noting a session and finding it
 * changed, proving a refused commit created no file, following an overlap through to the committed file,
 * storing one part more than the server's default page. Each returns a problem (the scenario's own rule
 * broken) or throws Blocked (another rule's failure kept it from observing).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlockedRule, Finding } from '../grader/findings.ts';
import { jsonMismatch } from '../grader/json-expect.ts';
import { downloadedContentProblem, listedPartsProblem, sessionStatusProblem } from '../grader/server-checks.ts';
import { type JsonResponse, describeResponse } from '../http/transport.ts';
import { digestHeaderFor } from '../protocol/digest.ts';
import type { ServerRuleId } from '../protocol/rules.ts';
import { otherBytesOf } from './part-variants.ts';
import type { SequencesOutcome } from './sequences.ts';
import { Blocked, type Listing, MAX_LIST_LIMIT, type ProbeSession, type ServerProbe } from './probe.ts';
import { committedEntryOf, committedFileIdOf, fieldOf } from '../protocol/answers.ts';

/**
 * Bytes the list-parts paging probe may upload to store one part more than the server's default page
 * (Box: 101 parts of 8 MiB, about 850 MB, if its default page is 100). A server whose default page costs
 * more is not judged on paging without `limit` (the scenario says why).
 */
export const PAGING_MAX_BYTES = 1024 * 1024 * 1024;

/** Waits before reading a count still below the parts stored again; after the last read, the count is judged. */
const STATUS_SETTLE_WAITS_MS = [1000, 2000, undefined];

/**
 * What a session looked like at one moment: its listing (every page: the first total_count, and each
 * entry keyed by its offset, so that a diff names the part that changed) and, when noted, its status's count.
 */
export interface SessionNote {
  listing: { total_count: unknown; parts: Record<string, unknown> };
  processed?: unknown;
}

export class ServerScenario {
  file?: ProbeSession;
  answer?: JsonResponse;
  /** The exchange of the request the When step sent: where a refused request may have changed the session. */
  sentAt?: number;
  /** File size of the last create the scenario sent. */
  createdSize = 0;
  noted?: SessionNote;
  /** The part sent again with other bytes. */
  overlappedPart?: number;
  /** The default page the paging probe found. */
  defaultPage?: number;
  readonly blocked: BlockedRule[] = [];
  /** What the scenario's procedures saw broken beyond single answers (a refused part stored, a session changed). */
  readonly findings: Finding[] = [];
  /** The generated sequences' outcome, once sent. */
  sequences?: SequencesOutcome;
  /** Why a probe case could not be judged (a single-part file refused, …). */
  readonly notJudged: string[] = [];
  /** Probe cases judged, and those another rule's failure kept from being judged. */
  judgedCases = 0;
  readonly blockedCases: Blocked[] = [];

  constructor(
    readonly probe: ServerProbe,
    /** The scenario's name: what findings name as their run. */
    readonly name: string,
    /** The rule ids the scenario is tagged with. */
    readonly rules: readonly string[],
  ) {}

  /** `rule` is broken, as the last exchange shows. */
  found(rule: ServerRuleId, message: string): void {
    const index = this.probe.exchanges.length - 1;
    const label = this.probe.exchanges[index]?.label;
    this.findings.push({ rule, run: this.name, requests: index < 0 ? [] : [index], message: label === undefined ? message : `${message} [${label}]` });
  }

  /** Throws the first case's Blocked when cases were blocked and none was judged. */
  assertSomeCaseJudged(): void {
    const [first] = this.blockedCases;
    if (first && this.judgedCases === 0) throw first;
  }

  get session(): ProbeSession {
    if (!this.file) throw new Error('no upload session: a Given step should have opened one');
    return this.file;
  }

  get lastAnswer(): JsonResponse {
    if (!this.answer) throw new Error('no answer to judge: the When step sent nothing');
    return this.answer;
  }

  /** Keeps `answer` as the one to judge, and its exchange as where the session may have changed. */
  sent(answer: JsonResponse): void {
    this.answer = answer;
    this.sentAt = this.probe.exchanges.length - 1;
  }

  /** The refused request changed the session: stateful answers after it are not held against other rules. */
  changedByRefusal(): void {
    if (this.sentAt !== undefined) this.probe.diverge(this.session.session.id, this.sentAt);
  }

  /** Every page of the session's parts, a large page at a time. */
  listEverything(): Promise<Listing> {
    return this.probe.listAll(this.session, { limit: MAX_LIST_LIMIT });
  }

  /** What the refused part could have added to the session's parts (other listing faults are S-LIST-PARTS's to judge). */
  async persistedProblem(): Promise<string | undefined> {
    const listing = await this.listEverything();
    const expected = this.probe.expectedParts(this.session);
    const known = new Map(expected.map((part) => [part.offset, part.size]));
    const extra = listing.entries.find((entry) => typeof entry.offset !== 'number' || known.get(entry.offset) !== entry.size);
    const total = listing.totalCounts.find((count) => typeof count === 'number' && count > expected.length);
    if (!extra && total === undefined) return undefined;
    this.changedByRefusal();
    return `the part was refused, but the session's parts say otherwise: ${extra ? `the listing holds ${JSON.stringify(extra)}` : `total_count is ${String(total)}`}, ${expected.length} part(s) were stored`;
  }

  async note(withStatus: boolean): Promise<SessionNote> {
    const listing = await this.listEverything();
    const parts: Record<string, unknown> = {};
    for (const entry of [...listing.entries].sort((a, b) => Number(a.offset) - Number(b.offset))) {
      const at = `offset ${JSON.stringify(entry.offset)}`;
      let key = at;
      for (let again = 2; Object.hasOwn(parts, key); again++) key = `${at} #${again}`;
      parts[key] = { part_id: entry.part_id, size: entry.size, sha1: entry.sha1 };
    }
    const note: SessionNote = { listing: { total_count: listing.totalCounts[0], parts } };
    if (withStatus) {
      const status = await this.probe.status(this.session);
      if (status.status !== 200) throw new Blocked(['S-STATUS'], `the session's status could not be read: ${describeResponse(status)}`);
      note.processed = fieldOf(status.body, 'num_parts_processed');
    }
    return note;
  }

  /** How the session differs from what was noted before the refused request, if it does. */
  async changeSinceNote(withStatus: boolean): Promise<string | undefined> {
    const before = this.noted;
    if (!before) throw new Error('nothing was noted: a Given step should note the session first');
    let after: SessionNote;
    try {
      after = await this.note(withStatus);
    } catch (error) {
      if (!(error instanceof Blocked)) throw error;
      this.changedByRefusal();
      return `after the refused request, the session no longer answers as before: ${error.message}`;
    }
    // num_parts_processed may still catch up with the parts stored before (Box processes parts as they come), never pass them.
    const stored = this.probe.expectedParts(this.session).length;
    const counted = (value: unknown) => (typeof value === 'number' ? value : Number.NaN);
    const caughtUp = counted(after.processed) >= counted(before.processed) && counted(after.processed) <= stored;
    const changed = [
      jsonMismatch('its parts changed', after.listing, before.listing, 'was'),
      withStatus && after.processed !== before.processed && !caughtUp
        ? `its num_parts_processed was ${JSON.stringify(before.processed)}, now ${JSON.stringify(after.processed)}`
        : undefined,
    ].filter((change) => change !== undefined);
    if (changed.length === 0) return undefined;
    this.changedByRefusal();
    return `the refused request changed the session: ${changed.join('; ')}`;
  }

  /**
   * GET status counts exactly the parts stored: a count below them is read again (Box processes parts as
   * they come), for STATUS_SETTLE_WAITS_MS, then judged.
   */
  async statusSettledProblem(settle = true): Promise<string | undefined> {
    const file = this.session;
    const stored = this.probe.expectedParts(file).length;
    for (const waitMs of settle ? STATUS_SETTLE_WAITS_MS : [undefined]) {
      const answer = await this.probe.status(file);
      const exact = sessionStatusProblem(answer, file.session.id, stored);
      if (exact === undefined) return undefined;
      if (waitMs === undefined || sessionStatusProblem(answer, file.session.id, stored, true) !== undefined) return exact;
      await sleep(waitMs);
    }
    return undefined;
  }

  /** A correct commit after a refused one: 201 shows the refused commit neither ended the session nor created the file. */
  async commitAgainProblem(): Promise<string | undefined> {
    const { probe } = this;
    const file = this.session;
    const again = await probe.commit(file, { digest: probe.wholeFileDigest(file) });
    if (again.status === 201) return undefined;
    if (again.status === 404 || again.status === 409 || again.status === 410) {
      this.changedByRefusal();
      return `after the refused commit, a correct commit is answered ${describeResponse(again)}: the refused commit ${again.status === 409 ? 'created the file' : 'ended the session'}`;
    }
    throw new Blocked(['S-COMMIT-OK'], `a correct commit after the refused one was answered ${describeResponse(again)}`);
  }

  /** The committed file's content, where the server serves it (`GET {api-base-url}/files/{id}/content`), against the bytes sent. */
  async downloadProblem(answer: JsonResponse): Promise<{ problem?: string; notServed?: string }> {
    const file = this.session;
    const id = committedFileIdOf(answer.body);
    if (id === undefined) return { problem: 'the commit answer names no file' };
    const sha1 = this.probe.wholeFileSha1(file).toString('hex');
    const content = await this.probe.readContent(id, { size: file.fileSize, sha1 });
    if (content.status !== 200) return { notServed: `the server does not serve the file's content at GET …/files/${id}/content (HTTP ${content.status})` };
    return { problem: downloadedContentProblem(content, file.fileSize, sha1) };
  }

  /**
   * After other bytes were refused as an overlap: stores the other parts, commits, and finds whether the
   * file (its content where the server serves it, else its sha1) holds the bytes first sent, or the other ones.
   */
  async overlapReachedFileProblem(): Promise<string | undefined> {
    const { probe } = this;
    const file = this.session;
    if (this.overlappedPart === undefined) throw new Error('no part was sent again with other bytes');
    const replaced = otherBytesOf(probe, file, this.overlappedPart);
    const stored = new Set(probe.expectedParts(file).map((part) => part.offset));
    const numbers = Array.from({ length: probe.partCount(file) }, (_, index) => index + 1);
    await probe.storeParts(
      file,
      numbers.filter((number) => !stored.has((number - 1) * file.session.part_size)),
    );
    const firstBytes = probe.wholeFileSha1(file).toString('hex');
    const otherBytes = () => {
      const hash = createHash('sha1')
        .update(probe.bytesAt(file, 0, replaced.offset))
        .update(replaced.other);
      const end = replaced.offset + replaced.other.length;
      return hash.update(probe.bytesAt(file, end, file.fileSize - end)).digest('hex');
    };
    const overwritten = (how: string) => {
      this.changedByRefusal();
      return `the overlapping part was refused, but ${how}: it replaced the bytes stored at offset ${replaced.offset}`;
    };
    const committed = await probe.commit(file, { digest: probe.wholeFileDigest(file) });
    if (committed.status !== 201) {
      // Refused: because the stored bytes changed, or because the server does not commit correct files?
      const other = await probe.commit(file, { digest: digestHeaderFor(Buffer.from(otherBytes(), 'hex')), expect: { kind: 'any' } });
      if (other.status === 201)
        return overwritten(
          `a commit with the Digest of the file as first sent was answered ${describeResponse(committed)}, and one with the Digest of the file with the other bytes was accepted`,
        );
      throw new Blocked(['S-COMMIT-OK'], `a correct commit was answered ${describeResponse(committed)}`);
    }
    const entry = committedEntryOf(committed.body);
    const id = committedFileIdOf(committed.body);
    const content = id !== undefined ? await probe.readContent(id, { size: file.fileSize, sha1: firstBytes }) : undefined;
    const served = content?.status === 200 ? content.content?.sha1 : undefined;
    const held = served ?? entry?.sha1;
    const source = served !== undefined ? "the committed file's content" : "the committed file's sha1 (the server does not serve its content)";
    if (held === firstBytes) return undefined;
    if (held === otherBytes()) return overwritten(`${source} is that of the other bytes`);
    throw new Blocked(['S-COMMIT-OK'], `${source} is ${JSON.stringify(held)}, neither the file as first sent (${firstBytes}) nor with the other bytes`);
  }

  /**
   * Finds the server's default page (the `limit` its listing states) and stores one part more, in a
   * larger session when needed. Returns why paging cannot be judged, when it cannot.
   */
  async storeMoreThanDefaultPage(): Promise<string | undefined> {
    const { probe } = this;
    let file = this.session;
    const first = await probe.listParts(file);
    if (first.status !== 200) throw new Error(`a new session's parts could not be listed: ${describeResponse(first)}`);
    const defaultPage = fieldOf(first.body, 'limit');
    if (typeof defaultPage !== 'number' || !Number.isSafeInteger(defaultPage) || defaultPage < 1)
      return `the listing states no limit (${JSON.stringify(defaultPage)}), so the kit cannot tell the server's default page`;
    const needed = defaultPage + 1;
    const tooLarge = (session: ProbeSession) =>
      needed * session.session.part_size > PAGING_MAX_BYTES
        ? `one part more than the default page of ${defaultPage} is ${needed} parts of ${session.session.part_size} bytes, more than the ${PAGING_MAX_BYTES} bytes this probe may upload`
        : undefined;
    if (probe.partCount(file) < needed) {
      const reason = tooLarge(file);
      if (reason) return reason;
      await probe.abort(file.session);
      const partSize = file.session.part_size;
      file = await probe.openSession(needed, (needed - 1) * partSize + Math.ceil(partSize / 2));
      this.file = file;
      const larger = tooLarge(file);
      if (larger) return larger;
    }
    await probe.storeParts(
      file,
      Array.from({ length: needed }, (_, index) => index + 1),
    );
    this.defaultPage = defaultPage;
    return undefined;
  }

  /** Every page of `listing` gives the right total_count, and together they hold every stored part once. */
  pagedListingProblem(listing: Listing, how: string): string | undefined {
    const expected = this.probe.expectedParts(this.session);
    const wrongTotal = listing.totalCounts.findIndex((count) => count !== expected.length);
    if (wrongTotal >= 0)
      return `${how}, page ${wrongTotal + 1} gives total_count ${JSON.stringify(listing.totalCounts[wrongTotal])}, ${expected.length} parts were stored`;
    const problem = listedPartsProblem(listing.entries, expected, true);
    return problem && `${how}: ${problem}`;
  }
}
