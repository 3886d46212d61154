import type { InterceptAccess } from '../intercept/environment.ts';

/** What the kit hands a client for one upload (the command contract's environment). */
export interface UploadJob {
  baseUrl: string;
  token: string;
  file: string;
  fileName: string;
  folderId: string;
  timeoutMs: number;
  /** With --intercept: how the client reaches the kit on Box's hosts, and the CA it must trust. */
  intercept?: InterceptAccess;
}

export interface ClientOutcome {
  /** null when killed. */
  exitCode: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Processes of the run still alive when the command exited (or was killed), which the kit then ended. */
  leftRunning?: number;
}

/** The one narrow interface every implementation under test sits behind. */
export interface ClientUnderTest {
  readonly name: string;
  upload(job: UploadJob): Promise<ClientOutcome>;
}
