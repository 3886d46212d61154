// The kit's picture of each session it opened: the parts it sent that the server acknowledged, and
// whether the session is still as the kit made it. What the kit expects of an answer follows from it.
import type { JsonResponse } from '../http/transport.ts';
import { committedFileIdOf, partRecordOf } from '../protocol/answers.ts';
import { type UploadPart, type UploadSession, isRecord } from '../protocol/shapes.ts';
import { type Credentials, type ExpectedPart, type Expectation, type ProbeExchange, changesState } from './exchange.ts';

/** A session the probe opened, with the file it stands for. */
export interface ProbeSession {
  session: UploadSession;
  fileSize: number;
  /** Seed of this file's bytes. */
  seed: string;
  name: string;
}

/** What every request without the right token must get. */
export const AUTH_REFUSAL: Expectation = { kind: 'refusal', rule: 'S-AUTH', status: 401 };
/** What every call about a session the kit aborted must get. */
const ABORTED_REFUSAL: Expectation = { kind: 'refusal', rule: 'S-ABORT' };

interface SessionModel {
  /** `aborted`: every later call must be refused (S-ABORT); `closed`: committed, or given up. */
  state: 'open' | 'closed' | 'aborted';
  readonly parts: Map<number, ExpectedPart>;
  /** From this exchange on, the session may hold what the kit did not mean to store: stateful answers are not judged. */
  divergedAt?: number;
}

/** What an answer ended: its session (committed or aborted), and the file a commit created. */
export interface Learned {
  ended?: string;
  createdFile?: string;
}

export class SessionModels {
  readonly #models = new Map<string, SessionModel>();

  open(sessionId: string): void {
    this.#models.set(sessionId, { state: 'open', parts: new Map() });
  }

  /** What an answer tells the kit about the session it concerns. */
  learn(exchange: ProbeExchange, response: JsonResponse): Learned {
    const model = exchange.session === undefined ? undefined : this.#models.get(exchange.session);
    if (!model || exchange.session === undefined) return {};
    const learned: Learned = {};
    const accepted = response.status >= 200 && response.status < 300;
    if (exchange.expect.kind === 'part' && response.status === 200 && exchange.range) {
      const part = partRecordOf(response.body);
      const partId = isRecord(part) && typeof part.part_id === 'string' && part.part_id !== '' ? part.part_id : undefined;
      const answeredSha1 = isRecord(part) && typeof part.sha1 === 'string' && part.sha1 !== exchange.body.sha1 ? part.sha1 : undefined;
      model.parts.set(exchange.range.lo, { offset: exchange.range.lo, size: exchange.body.length, sha1: exchange.body.sha1, partId, answeredSha1 });
    }
    if (exchange.expect.kind === 'refusal' && accepted && changesState(exchange.method)) this.diverge(exchange.session, exchange.index);
    if (exchange.method === 'POST' && response.status === 201) {
      model.state = 'closed';
      learned.ended = exchange.session;
      learned.createdFile = committedFileIdOf(response.body);
    }
    if (exchange.method === 'DELETE' && response.status === 204 && exchange.expect.kind === 'abort') {
      model.state = 'aborted';
      learned.ended = exchange.session;
    }
    return learned;
  }

  /** From exchange `index` on, the session may hold what the kit did not mean to store (a rule broken there says what). */
  diverge(sessionId: string, index: number): void {
    const model = this.#models.get(sessionId);
    if (model && (model.divergedAt === undefined || index < model.divergedAt)) model.divergedAt = index;
  }

  /** Exchange index from which each diverged session's stateful answers are not judged. */
  divergences(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, model] of this.#models) if (model.divergedAt !== undefined) out[id] = model.divergedAt;
    return out;
  }

  #model(file: ProbeSession): SessionModel {
    const model = this.#models.get(file.session.id);
    if (!model) throw new Error(`session ${file.session.id} was not opened by this probe`);
    return model;
  }

  /** The parts the server acknowledged in the session, by offset, as the kit sent them. */
  expectedParts(file: ProbeSession): ExpectedPart[] {
    return [...this.#model(file).parts.values()].sort((a, b) => a.offset - b.offset);
  }

  acknowledgedCount(file: ProbeSession): number {
    return this.#model(file).parts.size;
  }

  /** Whether the kit aborted the session: every later call must be refused. */
  aborted(sessionId: string): boolean {
    const model = this.#models.get(sessionId);
    return model?.state === 'aborted' && model.divergedAt === undefined;
  }

  /** Whether the session's answers are still judged against what the kit sent (open, and not diverged). */
  tracked(sessionId: string): boolean {
    const model = this.#models.get(sessionId);
    return model?.state === 'open' && model.divergedAt === undefined;
  }

  /** A request without the token must be refused with 401; with it, `whenTracked` while the session is as the kit made it. */
  expectation(sessionId: string, credentials: Credentials, whenTracked: () => Expectation): Expectation {
    if (credentials !== 'token') return AUTH_REFUSAL;
    if (this.aborted(sessionId)) return ABORTED_REFUSAL;
    return this.tracked(sessionId) ? whenTracked() : { kind: 'any' };
  }

  /** A correct part into a free range is expected stored, one into an acknowledged range refused as an overlap. */
  partExpectation(file: ProbeSession, range: { lo: number; hi: number }): Expectation {
    if (this.aborted(file.session.id)) return ABORTED_REFUSAL;
    const model = this.#model(file);
    const overlaps = [...model.parts.values()].some((part) => range.lo < part.offset + part.size && part.offset <= range.hi);
    if (overlaps) return { kind: 'refusal', rule: 'S-OVERLAP-REJECT', status: 416, code: 'range_overlaps_existing_part' };
    return model.state === 'open' ? { kind: 'part' } : { kind: 'any' };
  }

  /** A commit covering the file with its right Digest is expected to create the file (`whole`: the file's Digest and hex SHA-1). */
  commitExpectation(
    file: ProbeSession,
    parts: readonly UploadPart[],
    digest: string | undefined,
    credentials: Credentials,
    whole: () => { digest: string; sha1: string },
  ): Expectation {
    if (credentials !== 'token') return AUTH_REFUSAL;
    if (this.aborted(file.session.id)) return ABORTED_REFUSAL;
    let covered = 0;
    for (const part of [...parts].sort((a, b) => a.offset - b.offset)) if (part.offset === covered) covered += part.size;
    const stored = this.#model(file).parts;
    const allStored = parts.every((part) => stored.get(part.offset)?.size === part.size);
    if (covered !== file.fileSize || !allStored) return { kind: 'refusal', rule: 'S-COMMIT-INCOMPLETE-REJECT' };
    if (digest !== whole().digest) return { kind: 'refusal', rule: 'S-COMMIT-DIGEST-REJECT' };
    if (!this.tracked(file.session.id)) return { kind: 'any' };
    return { kind: 'file', size: file.fileSize, sha1: whole().sha1 };
  }
}
