// schema/conformance.schema.json: a report the kit writes matches it (runKit checks every report any test
// produces), and a report that breaks the contract's shape does not.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { ConformanceReport } from '../src/grader/reports.ts';
import { MINIMAL_CLIENT, runKit } from './support/kit.ts';
import { reportSchemaErrors } from './support/report-schema.ts';

type Mutable = Record<string, unknown> & { rules: Record<string, unknown>[]; summary: Record<string, unknown> };

describe('the conformance.json schema', () => {
  let written: ConformanceReport;
  const copy = () => structuredClone(written) as unknown as Mutable;

  before(async () => {
    // A run with every kind of rule entry the writer makes today: passed, failed as a known deviation, skipped.
    const list = join(await mkdtemp(join(tmpdir(), 'kit-expected-')), 'known-deviations.txt');
    await writeFile(list, 'C-CONTENT-TYPE # sends text/plain\n');
    const { report, stderr } = await runKit([
      '--client',
      `${MINIMAL_CLIENT} --defect text-content-type`,
      '--tags',
      '@C-CONTENT-TYPE or @C-CREATE',
      '--expect-failures',
      list,
    ]);
    assert.ok(report, stderr);
    written = report;
  });

  test('accepts what the kit writes: passed, skipped, and failed rules listed as known deviations', () => {
    const statuses = new Set(written.rules.map((rule) => `${rule.status}${rule.expectedToFail ? ' (expected)' : ''}`));
    assert.deepEqual([...statuses].sort(), ['failed (expected)', 'passed', 'skipped']);
    assert.ok(written.rules.find((rule) => rule.status === 'failed')?.reproduction?.commands, 'a failed client rule carries its reproduction');
    assert.deepEqual(reportSchemaErrors(written), []);
  });

  test('accepts a blocked rule naming the rules that blocked it, and a blocked count', () => {
    const report = copy();
    Object.assign(report.rules[1] ?? {}, { status: 'blocked', blockedBy: ['C-CREATE'] });
    report.summary.blocked = 1;
    assert.deepEqual(reportSchemaErrors(report), []);
  });

  const broken: [string, (report: Mutable) => void, RegExp][] = [
    ['a missing verdict', (report) => delete report.verdict, /must have required property 'verdict'/],
    ['an unknown verdict', (report) => (report.verdict = 'mostly-conformant'), /\/verdict must be equal to one of the allowed values/],
    ['an unknown target kind', (report) => (report.target = { kind: 'sdk', name: 'x' }), /\/target\/kind must be equal to one of the allowed values/],
    ['a field the contract does not name', (report) => (report.score = 0.9), /must NOT have additional properties/],
    ['a negative count', (report) => (report.summary.passed = -1), /\/summary\/passed must be >= 0/],
    ['a count that is not whole', (report) => (report.summary.failed = 0.5), /\/summary\/failed must be integer/],
    ['a rule id outside the catalogue’s form', (report) => Object.assign(report.rules[0] ?? {}, { id: 'c-create' }), /\/rules\/0\/id must match pattern/],
    [
      'an unknown status',
      (report) => Object.assign(report.rules[0] ?? {}, { status: 'errored' }),
      /\/rules\/0\/status must be equal to one of the allowed values/,
    ],
    [
      'a blocked rule without blockedBy',
      (report) => Object.assign(report.rules[0] ?? {}, { status: 'blocked' }),
      /\/rules\/0 must have required property 'blockedBy'/,
    ],
    ['blockedBy on a rule that is not blocked', (report) => Object.assign(report.rules[0] ?? {}, { blockedBy: ['C-AUTH'] }), /\/rules\/0 must NOT be valid/],
    [
      'an empty blockedBy',
      (report) => Object.assign(report.rules[0] ?? {}, { status: 'blocked', blockedBy: [] }),
      /\/rules\/0\/blockedBy must NOT have fewer than 1 items/,
    ],
    ['a rule without its guide reference', (report) => delete report.rules[0]?.guide, /\/rules\/0 must have required property 'guide'/],
    [
      'a reproduction without the command that reruns its rule',
      (report) => {
        const failed = report.rules.find((rule) => rule.status === 'failed') as { reproduction?: Record<string, unknown> } | undefined;
        delete failed?.reproduction?.rerun;
      },
      /\/rules\/\d+\/reproduction must have required property 'rerun'/,
    ],
    ['a generatedAt that is not an ISO time', (report) => (report.generatedAt = 'Tuesday'), /\/generatedAt must match pattern/],
  ];
  for (const [what, breakIt, error] of broken)
    test(`rejects ${what}`, () => {
      const report = copy();
      breakIt(report);
      const errors = reportSchemaErrors(report);
      assert.ok(
        errors.some((line) => error.test(line)),
        `expected ${error}, got ${JSON.stringify(errors)}`,
      );
    });
});
