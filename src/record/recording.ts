/**
 * Recordings of a server run: every exchange the kit made, with provenance and with every secret
 * scrubbed, in a JSON file that replay answers from. Format `box-conformance-recording/1`:
 *
 *   { format, provenance: {recordedAt, server, apiBaseUrl, kit, node}, run: {seed, namePrefix, folderId},
 *     exchanges: [{ request: {method, url, headers, body: {length, sha1, json?}},
 *                   response?: {status, headers, body, content?}, failure? }] }
 *
 * Request headers keep only what identifies a request (content-type, content-range, digest, if-match,
 * if-none-match) and the kind of credentials it carried: `authorization` is "[token]", "[wrong token]"
 * or absent. Part bodies are kept as length and SHA-1 only: replay regenerates them from the seed.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HttpRequest, JsonResponse, SendResult, Transport } from '../http/transport.ts';
import { sha1Of } from '../protocol/digest.ts';

export const RECORDING_FORMAT = 'box-conformance-recording/1';
export const RECORDING_FILE = 'recording.json';
export const MATCHED_HEADERS = ['content-type', 'content-range', 'digest', 'if-match', 'if-none-match'] as const;
export type CredentialsMark = '[token]' | '[wrong token]';

export interface RecordedExchange {
  request: {
    method: HttpRequest['method'];
    url: string;
    headers: Record<string, string>;
    body: { length: number; sha1: string; json?: unknown };
  };
  /** `content`: a download's length and SHA-1, kept instead of its bytes. */
  response?: { status: number; headers: Record<string, string>; body: string; content?: { length: number; sha1: string } };
  failure?: string;
}

export interface Recording {
  format: typeof RECORDING_FORMAT;
  provenance: { recordedAt: string; server: string; apiBaseUrl: string; kit: { name: string; version: string }; node: string };
  run: { seed: string; namePrefix: string; folderId: string };
  exchanges: RecordedExchange[];
}

/** Replaces every occurrence of each secret in `text`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}

function bodyBytes(body: HttpRequest['body']): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** What a recording keeps of a request: the same for the recorder and for the request replay matches. */
export function describeRequest(request: HttpRequest, token: string, secrets: readonly string[]): RecordedExchange['request'] {
  const headers: Record<string, string> = {};
  for (const name of MATCHED_HEADERS) {
    const value = Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];
    if (value !== undefined) headers[name] = scrub(value, secrets);
  }
  const authorization = Object.entries(request.headers).find(([key]) => key.toLowerCase() === 'authorization')?.[1];
  if (authorization !== undefined) headers.authorization = credentialsMark(authorization, token);
  const bytes = bodyBytes(request.body);
  const body: RecordedExchange['request']['body'] = { length: bytes.length, sha1: sha1Of(bytes).toString('hex') };
  if (typeof request.body === 'string') {
    try {
      body.json = JSON.parse(scrub(request.body, secrets));
    } catch {
      // not JSON: length and SHA-1 identify it
    }
  }
  return { method: request.method, url: scrub(request.url, secrets), headers, body };
}

export function credentialsMark(authorization: string, token: string): CredentialsMark {
  return authorization === `Bearer ${token}` ? '[token]' : '[wrong token]';
}

/** Wraps a transport: every exchange goes through unchanged and is kept, scrubbed, in `exchanges`. */
export function recordingTransport(inner: Transport, token: string, secrets: readonly string[]): Transport & { exchanges: RecordedExchange[] } {
  const exchanges: RecordedExchange[] = [];
  return {
    exchanges,
    async send(request): Promise<SendResult> {
      const entry: RecordedExchange = { request: describeRequest(request, token, secrets) };
      exchanges.push(entry);
      const result = await inner.send(request);
      if (result.ok) entry.response = scrubResponse(result.response, secrets);
      else entry.failure = scrub(result.failure, secrets);
      return result;
    },
    close: () => inner.close(),
  };
}

const DROPPED_RESPONSE_HEADERS = new Set([
  'set-cookie',
  'authorization',
  'www-authenticate',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
]);

function scrubResponse(response: JsonResponse, secrets: readonly string[]): NonNullable<RecordedExchange['response']> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name.toLowerCase())) continue;
    headers[name.toLowerCase()] = scrub(Array.isArray(value) ? value.join(', ') : value, secrets);
  }
  return { status: response.status, headers, body: scrub(response.text, secrets), ...(response.content ? { content: response.content } : {}) };
}

export async function writeRecording(dir: string, recording: Recording): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, RECORDING_FILE);
  await writeFile(path, `${JSON.stringify(recording, null, 1)}\n`);
  return path;
}

export async function readRecording(dir: string): Promise<Recording> {
  const path = join(dir, RECORDING_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the recording ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const recording = parsed as Partial<Recording>;
  if (recording.format !== RECORDING_FORMAT || !Array.isArray(recording.exchanges) || !recording.run || !recording.provenance)
    throw new Error(`${path} is not a ${RECORDING_FORMAT} recording`);
  return recording as Recording;
}
