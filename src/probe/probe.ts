import { setTimeout as sleep } from 'node:timers/promises';
import { type HttpMethod, type HttpRequest, type JsonResponse, type Transport, describeResponse } from '../http/transport.ts';
import { contentRangeFor } from '../protocol/content-range.ts';
import { digestHeaderFor, sha1Of } from '../protocol/digest.ts';
import { partAt } from '../protocol/parts.ts';
import type { UploadPart, UploadSession } from '../protocol/shapes.ts';
import { seededBytes } from '../protocol/seeded-bytes.ts';
import { parseRetryAfter } from '../uploader/retry.ts';

/** A server the kit grades: where it is, how to reach it, and what it may create there. */
export interface ServerTarget {
  /** API base, e.g. https://upload.box.com/api/2.0 */
  baseUrl: string;
  /** Where `DELETE /files/{id}` goes to remove a committed file (Box's API host for Box's upload host). */
  apiBaseUrl: string;
  token: string;
  folderId: string;
  /** Every file the kit creates is named with this prefix, so that a live run's files are recognisable. */
  namePrefix: string;
  /** Bytes of every uploaded file derive from it, so that a recorded run can be replayed. */
  seed: string;
  transport: Transport;
}

/** Which Authorization header a request carries. */
export type Credentials = 'token' | 'none' | 'wrong';
export const WRONG_TOKEN = 'not-the-token-0000';
/** How many 429 answers in a row the probe waits out before it takes one as the answer. */
const MAX_RATE_LIMITED = 5;

/** One exchange as a step saw it: the request in words, and the answer. */
export interface ProbeExchange {
  request: string;
  response?: JsonResponse;
  failure?: string;
}

/** The smallest file Box accepts in a session is 20 MB; the kit's files are a little larger. */
export const PROBE_FILE_SIZE = 21_000_000;

/** A session the probe opened, with the file it stands for. */
export interface ProbeSession {
  session: UploadSession;
  fileSize: number;
  /** Seed of this file's bytes. */
  seed: string;
  name: string;
}

/**
 * Crafted requests to a server under test: each call is one HTTP exchange, kept for evidence. Tracks
 * what it opened and created so that `cleanUp` leaves a live server as it found it.
 */
export class ServerProbe {
  readonly exchanges: ProbeExchange[] = [];
  readonly #openSessions = new Map<string, UploadSession>();
  readonly #createdFiles = new Set<string>();
  #files = 0;

  constructor(
    readonly target: ServerTarget,
    readonly scenarioTag: string,
  ) {}

  async send(
    method: HttpMethod,
    url: string,
    headers: Record<string, string>,
    body?: Uint8Array | string,
    credentials: Credentials = 'token',
  ): Promise<JsonResponse> {
    const request: HttpRequest = { method, url, headers: { ...this.#authorization(credentials), ...headers }, body };
    const described = `${method} ${url}${headers['content-range'] ? ` (Content-Range: ${headers['content-range']})` : ''}`;
    for (let attempt = 1; ; attempt++) {
      const result = await this.target.transport.send(request);
      if (!result.ok) {
        this.exchanges.push({ request: described, failure: result.failure });
        throw new Error(`${described}: no answer (${result.failure})`);
      }
      this.exchanges.push({ request: described, response: result.response });
      // A live server's rate limit is not the server's answer to the request: wait as told and ask again.
      if (result.response.status !== 429 || attempt >= MAX_RATE_LIMITED) return result.response;
      await sleep(Math.min(parseRetryAfter(result.response.headers['retry-after']) ?? attempt, 60) * 1000);
    }
  }

  #authorization(credentials: Credentials): Record<string, string> {
    if (credentials === 'none') return {};
    return { authorization: `Bearer ${credentials === 'wrong' ? WRONG_TOKEN : this.target.token}` };
  }

  nextFileName(): string {
    this.#files += 1;
    return `${this.target.namePrefix}${this.scenarioTag}-${this.#files}.bin`;
  }

  createBody(fileSize: number, name: string): Record<string, unknown> {
    return { folder_id: this.target.folderId, file_name: name, file_size: fileSize };
  }

  async createRaw(body: unknown, credentials: Credentials = 'token'): Promise<JsonResponse> {
    const response = await this.send(
      'POST',
      `${this.target.baseUrl}/files/upload_sessions`,
      { 'content-type': 'application/json' },
      JSON.stringify(body),
      credentials,
    );
    const session = response.body as UploadSession | undefined;
    if (response.status === 201 && typeof session?.id === 'string' && session.session_endpoints) this.#openSessions.set(session.id, session);
    return response;
  }

  /** Opens a session for a file of at least `minParts` parts (at least 20 MB, as Box requires). */
  async openSession(minParts = 3): Promise<ProbeSession> {
    let fileSize = PROBE_FILE_SIZE;
    for (let tries = 0; tries < 2; tries++) {
      const name = this.nextFileName();
      const response = await this.createRaw(this.createBody(fileSize, name));
      if (response.status !== 201) throw new Error(`could not open an upload session: ${describeResponse(response)}`);
      const session = response.body as UploadSession;
      if (typeof session.part_size !== 'number' || !(session.part_size > 0)) throw new Error(`the upload session has no usable part_size: ${response.text}`);
      if (Math.ceil(fileSize / session.part_size) >= minParts) return { session, fileSize, seed: `${this.target.seed}:${name}`, name };
      await this.abort(session);
      fileSize = (minParts - 1) * session.part_size + Math.ceil(session.part_size / 2);
    }
    throw new Error(`the server would not cut a file into ${minParts} parts`);
  }

  /** The bytes of part `number` (1-based) as the plan cuts them. */
  partBytes(file: ProbeSession, number: number): { offset: number; bytes: Buffer } {
    const part = partAt(number - 1, file.fileSize, file.session.part_size);
    return { offset: part.offset, bytes: seededBytes(file.seed, part.offset, part.size) };
  }

  bytesAt(file: ProbeSession, offset: number, length: number): Buffer {
    return seededBytes(file.seed, offset, length);
  }

  /** PUTs `body` with the headers a correct client would send, each of which `overrides` may replace or drop (undefined). */
  async putPart(
    file: ProbeSession,
    range: { lo: number; hi: number },
    body: Buffer,
    overrides: Record<string, string | undefined> = {},
    credentials: Credentials = 'token',
  ): Promise<JsonResponse> {
    const headers: Record<string, string | undefined> = {
      'content-type': 'application/octet-stream',
      'content-range': contentRangeFor(range.lo, range.hi - range.lo + 1, file.fileSize),
      digest: digestHeaderFor(sha1Of(body)),
      ...overrides,
    };
    const present = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
    return this.send('PUT', file.session.session_endpoints.upload_part, present, body, credentials);
  }

  /** Sends part `number` correctly; returns the answer. */
  async sendPart(file: ProbeSession, number: number): Promise<JsonResponse> {
    const { offset, bytes } = this.partBytes(file, number);
    return this.putPart(file, { lo: offset, hi: offset + bytes.length - 1 }, bytes);
  }

  /** Sends part `number` and insists that it was stored. */
  async storePart(file: ProbeSession, number: number): Promise<UploadPart> {
    const response = await this.sendPart(file, number);
    const part = (response.body as { part?: UploadPart } | undefined)?.part;
    if (response.status !== 200 || !part) throw new Error(`part ${number} was not stored: ${describeResponse(response)}`);
    return part;
  }

  async listParts(file: ProbeSession, query: { offset?: number; limit?: number } = {}, credentials: Credentials = 'token'): Promise<JsonResponse> {
    const url = new URL(file.session.session_endpoints.list_parts);
    if (query.offset !== undefined) url.searchParams.set('offset', String(query.offset));
    if (query.limit !== undefined) url.searchParams.set('limit', String(query.limit));
    return this.send('GET', url.toString(), {}, undefined, credentials);
  }

  async status(file: ProbeSession): Promise<JsonResponse> {
    return this.send('GET', file.session.session_endpoints.status, {});
  }

  /** Commits, waiting out 202 + Retry-After (up to `maxWaits` times), and returns the final answer. */
  async commit(file: ProbeSession, parts: readonly UploadPart[], digest: string | undefined, maxWaits = 10): Promise<JsonResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (digest !== undefined) headers.digest = digest;
    for (let waits = 0; ; waits++) {
      const response = await this.send('POST', file.session.session_endpoints.commit, headers, JSON.stringify({ parts }));
      if (response.status !== 202 || waits >= maxWaits) {
        if (response.status === 201) this.#committed(file.session, response);
        return response;
      }
      await sleep((parseRetryAfter(response.headers['retry-after']) ?? 1) * 1000);
    }
  }

  #committed(session: UploadSession, response: JsonResponse): void {
    this.#openSessions.delete(session.id);
    const id = (response.body as { entries?: { id?: unknown }[] } | undefined)?.entries?.[0]?.id;
    if (typeof id === 'string') this.#createdFiles.add(id);
  }

  /** Records a file the reference uploader committed, so that cleanUp deletes it. */
  adoptFile(id: string): void {
    this.#createdFiles.add(id);
  }

  async abort(session: UploadSession): Promise<JsonResponse> {
    const response = await this.send('DELETE', session.session_endpoints.abort, {});
    if (response.status === 204) this.#openSessions.delete(session.id);
    return response;
  }

  /** Aborts every session still open and deletes every file created; returns what could not be undone. */
  async cleanUp(): Promise<string[]> {
    const left: string[] = [];
    for (const session of [...this.#openSessions.values()]) {
      const response = await this.abort(session).catch((error: unknown) => error);
      if (!isAnswer(response) || (response.status !== 204 && response.status !== 404)) left.push(`session ${session.id}`);
    }
    for (const id of [...this.#createdFiles]) {
      const response = await this.send('DELETE', `${this.target.apiBaseUrl}/files/${id}`, {}).catch((error: unknown) => error);
      if (isAnswer(response) && (response.status === 204 || response.status === 404)) this.#createdFiles.delete(id);
      else left.push(`file ${id}`);
    }
    return left;
  }
}

function isAnswer(value: unknown): value is JsonResponse {
  return typeof value === 'object' && value !== null && 'status' in value;
}
