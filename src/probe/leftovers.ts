import type { JsonResponse } from '../http/transport.ts';
import type { UploadSession } from '../protocol/shapes.ts';
import type { Learned } from './session-model.ts';

/** What the probe opened and created and has not undone yet: what `cleanUp` aborts and deletes, so that a live server is left as it was found. */
export class Leftovers {
  readonly #openSessions = new Map<string, UploadSession>();
  readonly #createdFiles = new Set<string>();

  opened(session: UploadSession): void {
    this.#openSessions.set(session.id, session);
  }

  learned({ ended, createdFile }: Learned): void {
    if (ended !== undefined) this.#openSessions.delete(ended);
    if (createdFile !== undefined) this.#createdFiles.add(createdFile);
  }

  /** Aborts every session still open and deletes every file created; returns what could not be undone. */
  async cleanUp(abort: (session: UploadSession) => Promise<JsonResponse>, deleteFile: (id: string) => Promise<JsonResponse>): Promise<string[]> {
    const left: string[] = [];
    for (const session of [...this.#openSessions.values()]) {
      const response = await abort(session).catch((error: unknown) => error);
      if (!isAnswer(response) || (response.status !== 204 && response.status !== 404)) left.push(`session ${session.id}`);
      this.#openSessions.delete(session.id);
    }
    for (const id of [...this.#createdFiles]) {
      const response = await deleteFile(id).catch((error: unknown) => error);
      if (isAnswer(response) && (response.status === 204 || response.status === 404)) this.#createdFiles.delete(id);
      else left.push(`file ${id}`);
    }
    return left;
  }
}

function isAnswer(value: unknown): value is JsonResponse {
  return typeof value === 'object' && value !== null && 'status' in value;
}
