import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FINDINGS_MEDIA_TYPE, type FindingsAttachment } from '../src/grader/findings.ts';
import { htmlReport } from '../src/grader/html.ts';
import type { ConformanceReport } from '../src/grader/report-model.ts';
import { consoleSummary, junitReport, markdownReport } from '../src/grader/reports.ts';
import { type ScenarioResult, countRules, evidenceOf, gradeRules, verdictOf } from '../src/grader/results.ts';
import { RULES } from '../src/protocol/rules.ts';

const rule = (id: string) => {
  const found = RULES.find((entry) => entry.id === id);
  if (!found) throw new Error(id);
  return found;
};

function scenario(name: string, rules: string[], status: ScenarioResult['status'], attached?: FindingsAttachment): ScenarioResult {
  return {
    name,
    uri: 'features/x.feature',
    tags: rules.map((id) => `@${id}`),
    rules,
    status,
    message: status === 'failed' ? `${name} failed` : '',
    evidence: evidenceOf(attached ? [{ mediaType: FINDINGS_MEDIA_TYPE, body: JSON.stringify(attached) }] : []),
  };
}

describe('grading rules from scenarios and the findings attached anywhere', () => {
  test('a finding attached by another rule’s scenario fails the rule, naming the run; duplicates count once', () => {
    const finding = { rule: 'S-ERROR-SHAPE', run: 'S-AUTH-1', requests: [3], message: 'the 401 answer has no request_id' };
    const attached = { findings: [finding], blocked: [] };
    const graded = gradeRules(
      [rule('S-ERROR-SHAPE'), rule('S-AUTH')],
      [
        scenario('error shape', ['S-ERROR-SHAPE'], 'passed'),
        scenario('auth', ['S-AUTH'], 'passed', attached),
        scenario('auth again', ['S-AUTH'], 'passed', attached),
      ],
    );
    const shape = graded.find((result) => result.id === 'S-ERROR-SHAPE');
    assert.equal(shape?.status, 'failed');
    assert.equal(shape?.evidence, 'the 401 answer has no request_id [S-AUTH-1]');
    assert.deepEqual(shape?.findings, [finding]);
    assert.equal(graded.find((result) => result.id === 'S-AUTH')?.status, 'passed');
  });

  test('blocked only when never failed and never passed; blockedBy is the union; blocked changes neither counts of others nor the verdict', () => {
    const blocked = (run: string, by: string[]) => ({ rule: 'C-COVERAGE', run, blockedBy: by, reason: 'the client never committed' });
    const stopped = gradeRules(
      [rule('C-COVERAGE'), rule('C-DIGEST')],
      [
        scenario('coverage a', ['C-COVERAGE'], 'skipped', { findings: [], blocked: [blocked('r1', ['C-DIGEST'])] }),
        scenario('coverage b', ['C-COVERAGE'], 'skipped', {
          findings: [{ rule: 'C-DIGEST', run: 'r2', requests: [4], message: 'bad digest' }],
          blocked: [blocked('r2', ['C-RANGE-FORMAT', 'C-DIGEST'])],
        }),
        scenario('digest', ['C-DIGEST'], 'passed'),
      ],
    );
    const coverage = stopped.find((result) => result.id === 'C-COVERAGE');
    assert.equal(coverage?.status, 'blocked');
    assert.deepEqual(coverage?.blockedBy, ['C-DIGEST', 'C-RANGE-FORMAT']);
    assert.equal(stopped.find((result) => result.id === 'C-DIGEST')?.status, 'failed');
    assert.deepEqual(countRules(stopped), { passed: 0, failed: 1, skipped: 0, blocked: 1 });
    assert.equal(verdictOf(stopped), 'non-conformant');

    const passedElsewhere = gradeRules(
      [rule('C-COVERAGE')],
      [
        scenario('coverage a', ['C-COVERAGE'], 'skipped', { findings: [], blocked: [blocked('r1', ['C-DIGEST'])] }),
        scenario('coverage b', ['C-COVERAGE'], 'passed'),
      ],
    );
    assert.equal(passedElsewhere[0]?.status, 'passed');
    assert.equal(passedElsewhere[0]?.blockedBy, undefined);
  });

  test('a rule none of whose scenarios ran is skipped, whatever other runs saw (--tags left it out)', () => {
    const graded = gradeRules(
      [rule('C-PARALLEL-MIN')],
      [scenario('order', ['C-ORDER'], 'passed', { findings: [{ rule: 'C-PARALLEL-MIN', run: 'r', requests: [], message: 'one in flight' }], blocked: [] })],
    );
    assert.equal(graded[0]?.status, 'skipped');
  });
});

describe('reports show blocked rules', () => {
  test('markdown, JUnit, the console summary and the HTML page each say blocked, and by what', () => {
    const graded = gradeRules(
      [rule('C-CREATE'), rule('C-COVERAGE')],
      [
        scenario('create', ['C-CREATE'], 'failed', {
          findings: [{ rule: 'C-CREATE', run: 'r1', requests: [1], message: 'request #1 (POST create, 400): file_size is "10"' }],
          blocked: [{ rule: 'C-COVERAGE', run: 'r1', blockedBy: ['C-CREATE'], reason: 'not judged: the client never committed' }],
        }),
        scenario('coverage', ['C-COVERAGE'], 'skipped'),
      ],
    );
    const report: ConformanceReport = {
      kit: { name: 'kit', version: '0' },
      target: { kind: 'client', name: 'c' },
      verdict: verdictOf(graded),
      summary: countRules(graded),
      rules: graded,
      generatedAt: 'now',
      durationMs: 1,
    };
    assert.deepEqual(report.summary, { passed: 0, failed: 1, skipped: 0, blocked: 1 });
    assert.match(markdownReport(report), /\| \[C-COVERAGE\]\([^)]*\) \| MUST \| ⛔ blocked by C-CREATE \|.*not judged: the client never committed \[r1\]/);
    assert.match(markdownReport(report), /\| MUST \| 0 \| 1 \| 0 \| 1 \|/);
    assert.match(junitReport(report), /<skipped message="not judged, blocked by C-CREATE: not judged: the client never committed \[r1\]"\/>/);
    const summary = consoleSummary(report);
    assert.match(summary, /blocked C-COVERAGE +MUST +\(blocked by C-CREATE\)/);
    assert.match(summary.split('\n').at(-1) ?? '', /^0 passed, 1 failed, 0 skipped, 1 blocked$/);
    const html = htmlReport(report, []);
    assert.match(html, /<tr id="rule-C-COVERAGE" data-status="blocked">[\s\S]*?<td class="blocked">blocked by C-CREATE<\/td>/);
    assert.match(html, /0 rules passed, 1 failed, 0 skipped, 1 blocked/);
  });
});
