// Section 3: many upload sessions at once, each sending its parts in parallel, against `npm run server`
// in another process: every upload commits and reads back byte for byte.
import { Client, type Step, Upload } from './api.ts';
import { Counter, Invariants, Reservoir, type SectionResult, mib, ms, percentile } from './figures.ts';
import { ANSWER_INVARIANTS, judgeStep } from './judge.ts';
import type { ServerProcess } from './server-process.ts';

export interface SessionsOptions {
  seed: number;
  sessions: number;
  partsPerSession: number;
  partSize: number;
  startServer: () => Promise<ServerProcess>;
}

export const SESSIONS_INVARIANTS = {
  ...ANSWER_INVARIANTS,
  notCommitted: 'uploads that did not commit',
  bytesLost: 'committed files whose content read back differs from the source',
  crashes: 'server crashes',
} as const;

/**
 * Runs one upload with all its parts in flight at once (each on its own connection), then commits,
 * reads back and deletes. Resolves with the upload and whether its bytes came back identical.
 */
export async function parallelUpload(
  server: ServerProcess,
  name: string,
  fileSize: number,
  seed: string,
  observe: (step: Step) => void,
  attempts = 4,
): Promise<{ upload: Upload; committed: boolean; identical?: boolean; partsFailed: number[] }> {
  const address = { port: server.port, origin: server.origin, token: server.token };
  const client = new Client(address);
  const upload = new Upload(client, name, fileSize, seed, observe, attempts);
  try {
    await upload.create();
    if (!upload.session) return { upload, committed: false, partsFailed: [] };
    const results = await Promise.all(
      upload.missing().map(async (index) => {
        const own = new Client(address);
        try {
          return { index, step: await upload.putPart(index, own) };
        } finally {
          own.close();
        }
      }),
    );
    const partsFailed = results.filter((result) => !result.step.ok).map((result) => result.index);
    if (partsFailed.length > 0) return { upload, committed: false, partsFailed };
    const committed = await upload.commit();
    if (!committed.ok) return { upload, committed: false, partsFailed };
    const read = await upload.readBack();
    await upload.deleteFile();
    return { upload, committed: true, identical: read.identical, partsFailed };
  } finally {
    client.close();
  }
}

export async function sessionsSection(options: SessionsOptions): Promise<SectionResult> {
  const invariants = new Invariants(Object.values(SESSIONS_INVARIANTS));
  const statuses = new Counter();
  const latency = new Reservoir();
  const server = await options.startServer();
  const judge = judgeStep(invariants, statuses);
  const observe = (step: Step) => {
    if (step.result.kind === 'answer') latency.add(step.result.answer.latencyMs);
    judge(step);
  };
  const started = performance.now();
  const fileSize = options.partsPerSession * options.partSize;
  const results = await Promise.all(
    Array.from({ length: options.sessions }, (_, index) =>
      parallelUpload(server, `sessions-${index}.bin`, fileSize - (index % options.partSize), `sessions:${options.seed}:${index}`, observe),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const [index, result] of results.entries()) {
    invariants.check(SESSIONS_INVARIANTS.notCommitted, result.committed, () => ({
      request: `upload ${index} (${options.partsPerSession} parts in parallel)`,
      answer: result.partsFailed.length > 0 ? `parts ${result.partsFailed.map((part) => part + 1).join(', ')} failed` : 'create or commit failed',
    }));
    invariants.check(SESSIONS_INVARIANTS.bytesLost, result.identical !== false, () => ({
      request: `upload ${index}`,
      answer: `file ${result.upload.fileId} differs`,
    }));
  }
  const peak = await server.samplePeakRss();
  invariants.check(SESSIONS_INVARIANTS.crashes, server.alive, () => ({ request: 'after the run', answer: 'the server process is gone' }));
  await server.stop();
  const committed = results.filter((result) => result.committed).length;
  return {
    title: `concurrent sessions (${options.sessions} sessions × ${options.partsPerSession} parts of ${options.partSize / 1024} KiB, every part of every session in flight at once)`,
    lines: [
      `${statuses.total.toLocaleString('en')} requests in ${seconds.toFixed(1)} s; answers by status: ${statuses.format()}`,
      `committed ${committed} of ${options.sessions}; read back identical: ${results.filter((result) => result.identical).length}`,
      `latency: p50 ${ms(percentile(latency.values, 50))}, p95 ${ms(percentile(latency.values, 95))}, p99 ${ms(percentile(latency.values, 99))}`,
      `server peak RSS (VmHWM): ${mib(peak)}`,
    ],
    invariants: invariants.all(),
  };
}
