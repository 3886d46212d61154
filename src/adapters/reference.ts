import { type UploadOptions, uploadFile } from '../uploader/index.ts';
import type { ClientOutcome, ClientUnderTest } from './client.ts';

/** The kit's own uploader, run in-process: exit code 0 on success, 1 on failure, log lines as stderr. */
export function referenceClient(options: Pick<UploadOptions, 'concurrency' | 'retry'> = {}): ClientUnderTest {
  return {
    name: 'reference uploader (in-process)',
    upload: async (job): Promise<ClientOutcome> => {
      const started = performance.now();
      const lines: string[] = [];
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), job.timeoutMs);
      try {
        const upload = uploadFile({
          ...options,
          baseUrl: job.baseUrl,
          token: job.token,
          file: job.file,
          fileName: job.fileName,
          folderId: job.folderId,
          log: (line) => lines.push(line),
        });
        const timeout = new Promise<'timeout'>((resolve) => controller.signal.addEventListener('abort', () => resolve('timeout')));
        const result = await Promise.race([upload, timeout]);
        if (result === 'timeout') {
          upload.catch(() => undefined);
          return { exitCode: null, timedOut: true, stdout: '', stderr: lines.join('\n'), durationMs: performance.now() - started };
        }
        return {
          exitCode: 0,
          timedOut: false,
          stdout: `committed file ${result.file.id} (${result.file.size} bytes)\n`,
          stderr: lines.join('\n'),
          durationMs: performance.now() - started,
        };
      } catch (error) {
        lines.push(error instanceof Error ? error.message : String(error));
        return { exitCode: 1, timedOut: false, stdout: '', stderr: lines.join('\n'), durationMs: performance.now() - started };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
