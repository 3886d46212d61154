// Opening sessions for the probe's files: the server's part_size and whether it takes files under Box's
// 20 MB minimum are learned once a run; each file is then sized so that the server cuts it as asked.
import { type JsonResponse, describeResponse } from '../http/transport.ts';
import { totalPartsFor } from '../protocol/parts.ts';
import { type UploadSession, isUsableSession, unusableSessionProblem } from '../protocol/shapes.ts';
import { Blocked } from '../errors.ts';
import type { Credentials, Expectation } from './exchange.ts';
import type { ProbeSession } from './session-model.ts';
import type { FileShape } from './spaces.ts';
import { BOX_MIN_FILE_SIZE, PROBE_FILE_SIZE, type ServerTarget, fileSizeFor, runShared } from './target.ts';

/** What opening a session needs of the probe. */
export interface SessionOpener {
  readonly target: ServerTarget;
  nextFileName(): string;
  createBody(fileSize: number, name: string): Record<string, unknown>;
  createRaw(body: unknown, credentials?: Credentials, expect?: Expectation): Promise<JsonResponse>;
  abort(session: UploadSession): Promise<JsonResponse>;
}

/** The upload_session a create was answered with, or Blocked by S-CREATE when it cannot be used. */
export function sessionOf(response: JsonResponse): UploadSession {
  if (response.status === 201 && isUsableSession(response.body)) return response.body;
  const problem = response.status === 201 ? unusableSessionProblem(response.body) : describeResponse(response);
  throw new Blocked(['S-CREATE'], `could not open an upload session: ${problem}`);
}

/**
 * The server's part_size, and whether it opens sessions for files under Box's 20 MB minimum: learned once
 * a run, from a create of 21 MB and one of three and a half parts (each aborted).
 */
async function knownServer(probe: SessionOpener): Promise<{ partSize: number; smallFiles: boolean }> {
  const shared = runShared(probe.target);
  if (shared.partSize === undefined) {
    const session = sessionOf(await probe.createRaw(probe.createBody(PROBE_FILE_SIZE, probe.nextFileName())));
    shared.partSize = session.part_size;
    await probe.abort(session);
  }
  if (shared.smallFiles === undefined) {
    const fileSize = fileSizeFor('half a part over', shared.partSize, true);
    if (fileSize >= BOX_MIN_FILE_SIZE) shared.smallFiles = true;
    else {
      const response = await probe.createRaw(probe.createBody(fileSize, probe.nextFileName()), 'token', { kind: 'session', fileSize, mayRefuse: true });
      shared.smallFiles = response.status === 201;
      if (response.status === 201 && isUsableSession(response.body)) await probe.abort(response.body);
    }
  }
  return { partSize: shared.partSize, smallFiles: shared.smallFiles };
}

/**
 * Opens a session for a file of at least `minParts` parts and at least 20 MB (as Box requires), asking
 * again for a larger file when the server's part_size makes too few parts.
 */
export async function openSession(probe: SessionOpener, minParts: number, minFileSize: number): Promise<ProbeSession> {
  const known = await knownServer(probe);
  let fileSize = Math.max(minFileSize, known.smallFiles ? (minParts - 1) * known.partSize + Math.ceil(known.partSize / 2) : PROBE_FILE_SIZE);
  for (let tries = 0; tries < 3; tries++) {
    const name = probe.nextFileName();
    const session = sessionOf(await probe.createRaw(probe.createBody(fileSize, name)));
    if (totalPartsFor(fileSize, session.part_size) >= minParts) return { session, fileSize, seed: `${probe.target.seed}:${name}`, name };
    await probe.abort(session);
    fileSize = Math.max(fileSize, (minParts - 1) * session.part_size + Math.ceil(session.part_size / 2));
  }
  throw new Blocked(['S-CREATE'], `the server would not cut a file into ${minParts} parts`);
}

/**
 * Opens a session for a file of `shape` at the server's part_size (learned from a first create, and
 * again when a size gets another part_size). Undefined when the server refuses a single-part file under
 * Box's 20 MB minimum, as it may.
 */
export async function openShaped(probe: SessionOpener, shape: FileShape): Promise<ProbeSession | undefined> {
  const shared = runShared(probe.target);
  const { smallFiles, ...known } = await knownServer(probe);
  let { partSize } = known;
  for (let tries = 0; tries < 3; tries++) {
    const fileSize = fileSizeFor(shape, partSize, smallFiles);
    const name = probe.nextFileName();
    const mayRefuse = fileSize < BOX_MIN_FILE_SIZE;
    const response = await probe.createRaw(probe.createBody(fileSize, name), 'token', { kind: 'session', fileSize, mayRefuse });
    if (mayRefuse && response.status >= 400 && response.status < 500) return undefined;
    const session = sessionOf(response);
    if (session.part_size === partSize) return { session, fileSize, seed: `${probe.target.seed}:${name}`, name };
    await probe.abort(session);
    partSize = shared.partSize = session.part_size;
  }
  throw new Blocked(['S-CREATE'], `the server's part_size changed with every file size asked for (${shape})`);
}
