import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { MINIMAL_CLIENT, runKit } from './support/kit.ts';

const CHROMIUM = '/usr/bin/chromium';

test('conformance.html renders the matrix, the exchange that broke a rule and the timeline, with no network', async (t) => {
  if (!existsSync(CHROMIUM)) {
    // .ci/run installs Debian's chromium; on a machine without it the check cannot run, and CI must not pass silently.
    assert.ok(!process.env.CI, `${CHROMIUM} is missing in CI`);
    t.skip(`${CHROMIUM} is not installed`);
    return;
  }
  const { report, reportDir } = await runKit(['--client', `${MINIMAL_CLIENT} --defect retry-last`, '--tags', '@C-RETRY-FIRST or @C-CREATE']);
  assert.equal(report?.rules.find((rule) => rule.id === 'C-RETRY-FIRST')?.status, 'failed');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const url = pathToFileURL(join(reportDir, 'conformance.html')).href;
    await page.goto(url);

    assert.equal(await page.locator('#verdict').textContent(), 'conformant-with-warnings');
    assert.equal(await page.locator('table#rules tbody tr').count(), report?.rules.length);
    assert.equal(await page.locator('#rule-C-RETRY-FIRST').getAttribute('data-status'), 'failed');
    assert.equal(await page.locator('#rule-C-CREATE').getAttribute('data-status'), 'passed');

    const culprits = page.locator('#failed-C-RETRY-FIRST pre.exchange.culprit');
    assert.ok((await culprits.count()) >= 2);
    assert.match(
      (await culprits.first().textContent()) ?? '',
      // The answer's headers follow it, named as the server sent them.
      /request #\d+ .*\nPUT \/api\/2\.0\/files\/upload_sessions\/\w+\n[\s\S]*authorization: Bearer <redacted>[\s\S]*→ HTTP (503|429) at [\d.]+ ms\nbox-request-id: \w+/,
    );
    assert.ok(await culprits.first().isVisible());

    // What failed leads: the failed rule, its timeline link and its reproduction come before the full rule table.
    const order = await page
      .locator('#verdict, #failed-C-RETRY-FIRST, #failed-C-RETRY-FIRST .reproduction pre.commands, #failed-C-RETRY-FIRST .reproduction pre.rerun, table#rules')
      .evaluateAll((elements) => elements.map((element) => element.id || element.className || element.tagName));
    assert.deepEqual(order, ['verdict', 'failed-C-RETRY-FIRST', 'commands', 'rerun', 'rules']);
    assert.ok(await page.locator('#failed-C-RETRY-FIRST a[href^="#run-"]').first().isVisible(), 'no link to the run’s timeline');
    const commands = (await page.locator('#failed-C-RETRY-FIRST pre.commands').textContent()) ?? '';
    assert.match(commands, /--part-size 1048576 --min-file-size 1 & SERVER_PID/);
    // The faults of the run the leading finding names: a 503 or a 429 on part 2 (which of the two runs' failures
    // the server could judge depends on when the client's other parts arrived).
    assert.match(
      commands,
      /PUT "http:\/\/127\.0\.0\.1:\$PORT\/_control\/faults" .*"part":2,"attempt":1,"action":\{"kind":("error","status":503|"rate-limit","retryAfter":6)/,
    );
    assert.match(commands, /--make-file repro-\w+\.bin --size \d+ --seed \S+/);
    assert.match((await page.locator('#failed-C-RETRY-FIRST pre.rerun').textContent()) ?? '', /--client '.*--defect retry-last' --tags @C-RETRY-FIRST$/);
    // Every column readable at 1300 px: nothing runs off the page sideways.
    assert.equal(await page.locator('html').evaluate((element) => element.scrollWidth), 1300, 'the report scrolls sideways at 1300 px');
    const table = await page.locator('table#rules').boundingBox();
    assert.ok(table && table.x + table.width <= 1300, `the rule table runs off the page: ${JSON.stringify(table)}`);

    const bars = page.locator('svg.timeline rect.bar');
    assert.ok((await bars.count()) > 10);
    const box = await bars.first().boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, 'the timeline bars are not drawn');
    assert.ok((await page.locator('svg.timeline rect.bar.retry').count()) >= 1, 'no retry is marked');
    assert.ok(await page.locator('svg.timeline path.in-flight').first().isVisible());

    assert.deepEqual(
      requested.filter((address) => address !== url),
      [],
      'the page asked the network for something',
    );
  } finally {
    await browser.close();
  }
});
