// The reliability soak: `npm run soak` runs each section at full size against `npm run server` in
// another process and prints its figures; test/soak.test.ts runs a short version of each with the
// same invariants. Exit code 1 when an invariant failed.
//   npm run soak [-- --sections generated,storage,sessions,uploader --seed 1 --requests 100000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integerOption, parseCommandLine } from '../src/cli/args.ts';
import { type SectionResult, failedInvariants, formatSection } from './soak/figures.ts';
import { generatedSection } from './soak/generated.ts';
import { ServerProcess } from './soak/server-process.ts';
import { sessionsSection } from './soak/sessions.ts';
import { storageScenarios } from './soak/storage.ts';
import { uploaderSection } from './soak/uploader.ts';

const COMMAND = 'soak';
const SECTIONS = ['generated', 'storage', 'sessions', 'uploader'] as const;

const { values } = parseCommandLine(COMMAND, {
  sections: { type: 'string' },
  seed: { type: 'string' },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  'max-seconds': { type: 'string' },
  schedules: { type: 'string' },
});
const sections = (values.sections ?? SECTIONS.join(',')).split(',');
const seed = integerOption(COMMAND, 'seed', values.seed, 1, 0);
const requests = integerOption(COMMAND, 'requests', values.requests, 100_000, 1);
const concurrency = integerOption(COMMAND, 'concurrency', values.concurrency, 24, 1);
const maxSeconds = integerOption(COMMAND, 'max-seconds', values['max-seconds'], 1_800, 1);
const schedules = integerOption(COMMAND, 'schedules', values.schedules, 3_000, 1);
const PART_SIZE = 32 * 1024;

console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} cores, seed ${seed}`);
const results: SectionResult[] = [];
const work = await mkdtemp(join(tmpdir(), 'soak-'));
try {
  if (sections.includes('generated')) {
    const storageDir = join(work, 'generated');
    const result = await generatedSection({
      seed,
      requests,
      concurrency,
      maxSeconds,
      slowLoris: 100,
      maxPeakRssMiB: 200,
      partSize: PART_SIZE,
      storageDir,
      startServer: () => ServerProcess.start({ token: 'soak-token', partSize: PART_SIZE, storageDir }),
      log: (line) => console.log(line),
    });
    results.push(result);
    console.log(formatSection(result));
  }
  if (sections.includes('storage')) {
    const scenarios = storageScenarios({
      seed,
      sessions: 200,
      ulimitSessions: 200,
      partsPerSession: 4,
      partSize: PART_SIZE,
      diskMiB: 16,
      token: 'soak-token',
      workDir: work,
      log: (line) => console.log(line),
    });
    for (const scenario of scenarios) {
      const result = await scenario.run();
      results.push(result);
      console.log(formatSection(result));
    }
  }
  if (sections.includes('sessions')) {
    const storageDir = join(work, 'sessions');
    const result = await sessionsSection({
      seed,
      sessions: 200,
      partsPerSession: 4,
      partSize: PART_SIZE,
      startServer: () => ServerProcess.start({ token: 'soak-token', partSize: PART_SIZE, storageDir }),
    });
    results.push(result);
    console.log(formatSection(result));
  }
  if (sections.includes('uploader')) {
    const result = await uploaderSection({
      seed,
      schedules,
      lanes: 3,
      partSize: PART_SIZE,
      maxParts: 6,
      maxSeconds,
      workDir: work,
      token: 'soak-token',
      log: (line) => console.log(line),
    });
    results.push(result);
    console.log(formatSection(result));
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const failed = failedInvariants(results);
console.log(failed.length === 0 ? '\nevery invariant held' : `\n${failed.length} invariant(s) failed: ${failed.map((invariant) => invariant.name).join('; ')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
