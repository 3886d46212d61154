// The short version of `npm run soak` (bench/soak.ts): every section, smaller, with the same invariants.
// Each runs `npm run server` as a process of its own, as a client test suite in another language would.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type SectionResult, formatSection } from '../bench/soak/figures.ts';
import { generatedSection } from '../bench/soak/generated.ts';
import { ServerProcess } from '../bench/soak/server-process.ts';
import { sessionsSection } from '../bench/soak/sessions.ts';
import { storageScenarios } from '../bench/soak/storage.ts';
import { uploaderSection } from '../bench/soak/uploader.ts';

const PART_SIZE = 32 * 1024;
const TOKEN = 'soak-test-token';
const SEED = 20_261_124;
const work = mkdtempSync(join(tmpdir(), 'soak-test-'));
after(() => rm(work, { recursive: true, force: true }));

/** Every invariant of the section held; the message is the section's figures and first offenders. */
function assertHeld(result: SectionResult): void {
  assert.ok(result.invariants.length > 0, `no invariant was checked:\n${formatSection(result)}`);
  const failed = result.invariants.filter((invariant) => invariant.count > 0);
  assert.deepEqual(
    failed.map((invariant) => `${invariant.name}: ${invariant.count}`),
    [],
    formatSection(result),
  );
}

describe('reliability soak, short version (npm run soak for the full one)', { concurrency: false }, () => {
  test(
    'generated requests, valid and malformed, 24 concurrent: no 5xx but injected, every request answered, Box JSON errors, no crash',
    { timeout: 120_000 },
    async () => {
      const storageDir = join(work, 'generated');
      const result = await generatedSection({
        seed: SEED,
        requests: 2_000,
        concurrency: 24,
        maxSeconds: 60,
        slowLoris: 20,
        maxPeakRssMiB: 200,
        partSize: PART_SIZE,
        storageDir,
        startServer: () => ServerProcess.start({ token: TOKEN, partSize: PART_SIZE, storageDir }),
      });
      assertHeld(result);
    },
  );

  for (const scenario of storageScenarios({
    seed: SEED,
    sessions: 50,
    ulimitSessions: 200,
    partsPerSession: 4,
    partSize: PART_SIZE,
    diskMiB: 4,
    token: TOKEN,
    workDir: work,
  })) {
    test(
      `storage fault (${scenario.name}): 5xx/507 for the affected requests only, the others served, nothing half-stored`,
      { timeout: 120_000 },
      async (t) => {
        const result = await scenario.run();
        if (result.skipped) {
          t.skip(result.skipped.join('; '));
          return;
        }
        assertHeld(result);
      },
    );
  }

  test('200 concurrent sessions × 4 parts: all committed and read back identical', { timeout: 120_000 }, async () => {
    const storageDir = join(work, 'sessions');
    assertHeld(
      await sessionsSection({
        seed: SEED,
        sessions: 200,
        partsPerSession: 4,
        partSize: PART_SIZE,
        startServer: () => ServerProcess.start({ token: TOKEN, partSize: PART_SIZE, storageDir }),
      }),
    );
  });

  test('random fault schedules for the reference uploader: no byte lost, no false success, no needless failure', { timeout: 120_000 }, async () => {
    assertHeld(await uploaderSection({ seed: SEED, schedules: 40, lanes: 2, partSize: PART_SIZE, maxParts: 5, maxSeconds: 60, workDir: work, token: TOKEN }));
  });
});
