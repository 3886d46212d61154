// The TypeScript loader's transform cache: an edited source is never served stale, each source keeps
// one entry however often it changes, and stack traces still point at the source's own lines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ROOT } from './support/kit.ts';

const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'ts-hooks');

/** Runs `file` through the kit's loader in a new process; its stdout and stderr, whatever its exit. */
async function runThroughLoader(file: string): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--no-warnings', '--import', join(ROOT, 'src', 'register.mjs'), file]).catch(
    (error: { stdout: string; stderr: string }) => ({ stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('the TypeScript loader caches its transforms', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ts-hooks-'));
    file = join(dir, 'source.ts');
  });
  const entryOf = (path: string) => `${createHash('sha1').update(path).digest('hex')}.js`;
  // The kit's own cache is left as it was found: without the entry of this run's temporary source.
  after(() => Promise.all([rm(dir, { recursive: true, force: true }), rm(join(CACHE_DIR, entryOf(file)), { force: true })]));

  test('an edited source is transformed again, in the one entry it has', async () => {
    for (const value of ['first', 'second', 'first']) {
      await writeFile(file, `const value: string = '${value}';\nconsole.log(value);\n`);
      // The second run of each version reads the entry the first one wrote.
      for (let run = 0; run < 2; run++) assert.equal((await runThroughLoader(file)).stdout.trim(), value);
    }
    const entry = entryOf(file);
    const entries = await readdir(CACHE_DIR);
    assert.ok(entries.includes(entry), 'the source has a cache entry');
    assert.deepEqual(
      entries.filter((name) => name.startsWith(entry)),
      [entry],
      'one entry for the source, nothing left aside',
    );
  });

  test('a stack trace from a cached transform points at the source line', async () => {
    await writeFile(file, `const n: number = 1;\n\nthrow new Error('thrown on line three ' + n);\n`);
    for (let run = 0; run < 2; run++) assert.match((await runThroughLoader(file)).stderr, /source\.ts:3\b/);
  });
});
