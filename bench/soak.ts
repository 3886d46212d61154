// The reliability soak: `npm run soak` runs each section at full size against `npm run server` in
// another process and prints its figures; test/soak.test.ts runs a short version of each with the
// same invariants. Exit code 1 when an invariant failed.
//   npm run soak [-- --sections generated,storage,sessions,uploader --seed 1 --requests 100000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integerOption, parseCommandLine, usageError } from '../src/cli/args.ts';
import { type SectionResult, failedInvariants, formatSection } from './soak/figures.ts';
import { generatedSection } from './soak/generated.ts';
import { ServerProcess } from './soak/server-process.ts';
import { sessionsSection } from './soak/sessions.ts';
import { storageScenarios } from './soak/storage.ts';
import { uploaderSection } from './soak/uploader.ts';

const COMMAND = 'soak';
const SECTIONS = ['generated', 'storage', 'sessions', 'uploader'] as const;
const USAGE = `Usage: npm run soak -- [options]

The reliability soak of the simulated server (README, "Reliability"): each section runs npm run server in
a process of its own, prints its figures and checks its invariants. Exit 1 if an invariant failed.

  --sections <list>      comma-separated, any of ${SECTIONS.join(', ')} (default: all)
  --seed <n>             seed of every generated case (default 1)
  --requests <n>         generated requests (default 100000)
  --concurrency <n>      generated requests at once (default 24)
  --schedules <n>        fault schedules for the reference uploader (default 3000)
  --max-seconds <n>      stop starting new cases of a section after this long (default 1800)
  --server-args="<opts>" more options for every npm run server started, e.g. --server-args="--traffic-budget 16777216"
  --help                 this text

The storage section mounts a small tmpfs (or a loop-mounted ext4 image) and remounts it read-only: as
root; elsewhere those two faults are skipped with the reason.`;

const { values } = parseCommandLine(COMMAND, {
  sections: { type: 'string' },
  seed: { type: 'string' },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  'max-seconds': { type: 'string' },
  schedules: { type: 'string' },
  'server-args': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const sections = (values.sections ?? SECTIONS.join(',')).split(',');
const unknown = sections.filter((name) => !(SECTIONS as readonly string[]).includes(name));
if (unknown.length > 0) usageError(COMMAND, `--sections takes any of ${SECTIONS.join(', ')}, got "${unknown.join(',')}"`);
const seed = integerOption(COMMAND, 'seed', values.seed, 1, 0);
const requests = integerOption(COMMAND, 'requests', values.requests, 100_000, 1);
const concurrency = integerOption(COMMAND, 'concurrency', values.concurrency, 24, 1);
const maxSeconds = integerOption(COMMAND, 'max-seconds', values['max-seconds'], 1_800, 1);
const schedules = integerOption(COMMAND, 'schedules', values.schedules, 3_000, 1);
const serverArgs = values['server-args']?.split(' ').filter(Boolean) ?? [];
const PART_SIZE = 32 * 1024;

console.log(
  `node ${process.version}, ${(await import('node:os')).cpus().length} cores, seed ${seed}${serverArgs.length > 0 ? `, npm run server ${serverArgs.join(' ')}` : ''}`,
);
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
      startServer: () => ServerProcess.start({ token: 'soak-token', partSize: PART_SIZE, storageDir, extraArgs: serverArgs }),
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
      serverArgs,
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
      startServer: () => ServerProcess.start({ token: 'soak-token', partSize: PART_SIZE, storageDir, extraArgs: serverArgs }),
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
      serverArgs,
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
