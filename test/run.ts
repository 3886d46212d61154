// `npm test`: every test/*.test.ts, two files at a time, as `node --test --test-concurrency=2` would run
// them, but the longest files first. node --test starts files in alphabetical order, which put the four
// self-test files (a third of the suite's CPU, a minute and more each) at the end, side by side, with one
// lane idle once the shorter of them ended. Started first, they overlap the files that mostly wait, and
// the short files even out the two lanes at the end. The summary (the last line CI reads) is node:test's.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

/**
 * The files that take longest, longest first (`time npm test`, the spec reporter's durations), those that
 * keep both cores busy (the self-tests, record-replay) between those that mostly wait on real clients.
 */
const LONGEST_FIRST = [
  'self-test-servers.test.ts',
  'adapters.test.ts',
  'self-test-b.test.ts',
  'self-test-servers-b.test.ts',
  'self-test-a.test.ts',
  'python-sdks.test.ts',
  'intercept-clients.test.ts',
  'record-replay.test.ts',
  'kit.test.ts',
  'package.test.ts',
  'action.test.ts',
  'soak.test.ts',
  'html-report.test.ts',
  'generated.test.ts',
  'reproduction.test.ts',
  'probe.test.ts',
];

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir)
  .filter((name) => name.endsWith('.test.ts'))
  .sort();
const rank = (name: string) => (LONGEST_FIRST.includes(name) ? LONGEST_FIRST.indexOf(name) : LONGEST_FIRST.length);
const files = all.sort((a, b) => rank(a) - rank(b)).map((name) => join(dir, name));

const stream = run({ files, concurrency: 2 });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
