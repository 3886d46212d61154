// `npm run spec`: the specification page, its Markdown twin and schema/rules.json are rendered from the
// catalogue and the features; the committed files are what a fresh render gives, and every rule is on the page.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { renderSpecFiles } from '../src/cli/spec.ts';
import { SPEC_FILES, specHtml, specInput, specMarkdown } from '../src/kit/spec.ts';
import { RULES } from '../src/protocol/rules.ts';
import { ROOT } from './support/kit.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('the specification', () => {
  test('the committed docs/spec.html, docs/spec.md and schema/rules.json are what npm run spec renders now', async () => {
    const fresh = await renderSpecFiles();
    assert.deepEqual(Object.keys(fresh).sort(), Object.values(SPEC_FILES).sort());
    for (const [path, text] of Object.entries(fresh))
      assert.ok((await readFile(join(ROOT, path), 'utf8')) === text, `${path} is stale: run npm run spec and commit it`);
  });

  test('schema/rules.json is the catalogue: ids, levels, sides, statements, guide references', async () => {
    const data = JSON.parse(await readFile(join(ROOT, SPEC_FILES.rules), 'utf8')) as { rules: unknown[] };
    assert.deepEqual(
      data.rules,
      RULES.map((rule) => ({
        id: rule.id,
        level: rule.level,
        side: rule.side,
        statement: rule.statement,
        guide: { ...rule.guide },
        ...(rule.robustness ? { robustness: { why: rule.robustness.why, sources: rule.robustness.sources.map((source) => ({ ...source })) } } : {}),
      })),
    );
  });

  test('a rule missing from the page is noticed', async () => {
    const html = await readFile(join(ROOT, SPEC_FILES.html), 'utf8');
    const markdown = await readFile(join(ROOT, SPEC_FILES.markdown), 'utf8');
    for (const rule of RULES) {
      assert.ok(html.includes(`<div class="rule ${rule.side}" id="${rule.id}">`), `${rule.id} is not on the page`);
      assert.ok(markdown.includes(`\n### ${rule.id}\n`), `${rule.id} is not in the Markdown`);
    }
    // The check can fail: a page rendered without one rule lacks it.
    const input = { kit: { name: 'k', version: '0' }, rules: RULES.slice(1), scenarios: [], thresholds: [], probeSpaces: [] };
    assert.ok(!specHtml(input).includes(`id="${RULES[0]?.id}"`));
    assert.ok(!specMarkdown(input).includes(`### ${RULES[0]?.id}\n`));
  });

  test('the thresholds are the catalogue’s exported numbers, each with its own doc comment', async () => {
    const { thresholds } = await specInput(ROOT, []);
    assert.deepEqual(
      thresholds.map((entry) => entry.name),
      ['PARALLEL_MAX', 'PARALLEL_MIN', 'PARALLEL_MIN_MEAN', 'SLOW_SERVER_MS', 'ORDER_TOLERANCE_MS', 'RETRY_FIRST_TOLERANCE_MS', 'RETRY_AFTER_SLACK_MS'],
    );
    assert.equal(thresholds.find((entry) => entry.name === 'PARALLEL_MIN_MEAN')?.value, '2.5 (PARALLEL_MIN - 0.5)');
    for (const entry of thresholds) assert.doesNotMatch(entry.reason, /export |\*\/|^$/, entry.name);
  });

  test('probe spaces render as tables', () => {
    const input = {
      kit: { name: 'k', version: '0' },
      rules: RULES,
      scenarios: [],
      thresholds: [],
      probeSpaces: [
        {
          rule: 'S-DIGEST-REJECT',
          dimensions: [{ name: 'digest', values: ['missing', 'hex'] }],
          cases: [{ id: 'd1', values: { digest: 'hex' }, expect: '4xx, not stored', depth: 'default' as const }],
        },
      ],
    };
    assert.match(specHtml(input), /<section id="probe-S-DIGEST-REJECT">[\s\S]*<td>d1<\/td><td>hex<\/td><td>4xx, not stored<\/td><td>default<\/td>/);
    assert.match(specMarkdown(input), /\| d1 \| hex \| 4xx, not stored \| default \|/);
  });

  test('in Chromium, every rule is under its guide section and every index link resolves, with no network', async (t) => {
    if (!existsSync(CHROMIUM)) {
      assert.ok(!process.env.CI, `${CHROMIUM} is missing in CI`);
      t.skip(`${CHROMIUM} is not installed`);
      return;
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      const url = pathToFileURL(join(ROOT, SPEC_FILES.html)).href;
      await page.goto(url);
      const links = await page.locator('#index a').evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href') ?? ''));
      assert.deepEqual(
        links,
        RULES.map((rule) => `#${rule.id}`),
      );
      const unresolved: string[] = [];
      for (const href of links) if ((await page.locator(href).count()) !== 1) unresolved.push(href);
      assert.deepEqual(unresolved, []);
      const placed = await page
        .locator('section > div.rule')
        .evaluateAll((rules) => rules.map((rule) => ({ id: rule.id, section: rule.parentElement?.querySelector('h2')?.textContent ?? '' })));
      assert.deepEqual(placed.map((rule) => rule.id).sort(), RULES.map((rule) => rule.id).sort());
      for (const rule of placed) assert.equal(rule.section, RULES.find((candidate) => candidate.id === rule.id)?.guide.section);
      await page.click('#index a[href="#C-RECOVER-STORED"]');
      assert.ok(await page.locator('#C-RECOVER-STORED').isVisible());
      assert.equal(await page.locator('html').evaluate((element) => element.scrollWidth), 1300, 'the page scrolls sideways at 1300 px');
      assert.deepEqual(
        requested.filter((address) => address !== url),
        [],
      );
    } finally {
      await browser.close();
    }
  });
});
