import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateMessages } from '@cucumber/gherkin';
import { IdGenerator, SourceMediaType } from '@cucumber/messages';
import { SITUATIONS, plannedWaitSeconds, setupOf } from '../src/kit/situations.ts';
import { ROOT } from './support/kit.ts';

/** Every client scenario's steps, as Cucumber's pickles give them. */
async function clientPickles(): Promise<{ name: string; steps: string[] }[]> {
  const dir = join(ROOT, 'features/client');
  const pickles: { name: string; steps: string[] }[] = [];
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.feature'))) {
    const envelopes = generateMessages(await readFile(join(dir, name), 'utf8'), name, SourceMediaType.TEXT_X_CUCUMBER_GHERKIN_PLAIN, {
      includeGherkinDocument: false,
      includePickles: true,
      includeSource: false,
      newId: IdGenerator.incrementing(),
    });
    for (const { pickle } of envelopes) if (pickle) pickles.push({ name: pickle.name, steps: pickle.steps.map((step) => step.text) });
  }
  return pickles;
}

test('every Given of the client features is a situation the kit can read before the scenario runs, matched by exactly one pattern', async () => {
  const pickles = await clientPickles();
  assert.ok(pickles.length > 30);
  for (const { name, steps } of pickles) {
    // The Given steps come before the When; each must be one situation, so an early run has the very set-up the scenario builds.
    const givens = steps.slice(
      0,
      steps.findIndex((text) => text.startsWith('the client uploads')),
    );
    for (const text of givens) {
      const matches = SITUATIONS.filter(({ pattern }) => pattern.test(text));
      assert.equal(matches.length, 1, `${name}: "${text}" matches ${matches.length} situations`);
    }
  }
});

test("a scenario's set-up, read from its steps; the Retry-After runs are the ones started early", async () => {
  assert.deepEqual(
    setupOf(
      [
        'the server cuts files into parts of 1048576 bytes',
        'a file of 3 parts and 1 byte',
        'the server answers the first create with 429 and Retry-After 6',
        'the server answers the second commit with 400 parts_mismatch',
      ],
      null,
    ),
    {
      fileSize: 3 * 1048576 + 1,
      partSize: 1048576,
      faults: [
        { op: 'create', attempt: 1, action: { kind: 'rate-limit', retryAfter: 6 } },
        { op: 'commit', attempt: 2, action: { kind: 'parts-mismatch' } },
      ],
    },
  );
  assert.equal(setupOf(['the server cuts files into parts of 1048576 bytes', 'a file of 2 parts'], 4096).fileSize, 8192, '--part-size replaces the scenario’s');
  const waiting = (await clientPickles()).filter(({ steps }) => plannedWaitSeconds(setupOf(steps, null)) > 5).map(({ name }) => name);
  // Each rule that judges a wait has a situation whose Retry-After outlasts an SDK's own backoff.
  for (const words of [
    /429 is retried after Retry-After/,
    /While waiting out Retry-After/,
    /429 on the create/,
    /429 on the commit is waited/,
    /202 commit answer/,
  ])
    assert.ok(
      waiting.some((name) => words.test(name)),
      `no long wait in a scenario like ${words}: ${waiting.join('; ')}`,
    );
});
