import { committedFileIdOf } from '../../src/protocol/answers.ts';
import { isRecord } from '../../src/protocol/shapes.ts';
import type { SessionInfo } from './api.ts';
import { type WireResult, jsonOf } from './wire.ts';

/** Live sessions and committed files of the run: what malformed requests aim at, and what is cleaned up. */
export class LiveState {
  readonly sessions: SessionInfo[] = [];
  readonly files: string[] = [];
  /** Every session and file id ever answered, for the final clean-up. */
  readonly allSessions = new Set<string>();
  readonly allFiles = new Set<string>();
  session(pick: number): SessionInfo | undefined {
    return this.sessions.length === 0 ? undefined : this.sessions[pick % this.sessions.length];
  }
  file(pick: number): string {
    return this.files.length === 0 ? '1000000001' : (this.files[pick % this.files.length] ?? '1000000001');
  }
  forget(id: string): void {
    const index = this.sessions.findIndex((session) => session.id === id);
    if (index >= 0) this.sessions.splice(index, 1);
  }
  /** Notes ids in any answer: a generated body may well create a session. */
  noteAnswer(result: WireResult): void {
    if (result.kind !== 'answer' || result.answer.status !== 201) return;
    const body = jsonOf(result.answer);
    if (isRecord(body) && body.type === 'upload_session' && typeof body.id === 'string') this.allSessions.add(body.id);
    const fileId = committedFileIdOf(body);
    if (fileId !== undefined) this.allFiles.add(fileId);
  }
}
