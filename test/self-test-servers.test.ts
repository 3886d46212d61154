import assert from 'node:assert/strict';
import { SERVER_SELF_TEST_CONCURRENCY } from './support/self-test.ts';
import { describe, test } from 'node:test';
import { failedRules } from './support/kit.ts';
import { gradeMinimalServer, notPassed, serverSelfTests } from './support/self-test-servers.ts';

describe('self-test: deliberately broken servers, each a real process on loopback, first half', { concurrency: SERVER_SELF_TEST_CONCURRENCY }, () => {
  test('an independent server without defects is conformant', async () => {
    const { code, report, stdout } = await gradeMinimalServer([]);
    assert.deepEqual(failedRules(report), [], stdout);
    assert.equal(report?.target.kind, 'server');
    assert.ok(report?.rules.every((rule) => rule.id.startsWith('S-')));
    assert.deepEqual(notPassed(report), []);
    assert.equal(code, 0);
  });

  test('a wait longer than --timeout is a kit error naming the answer waited for, never a failed rule', async () => {
    const { code, report, stderr } = await gradeMinimalServer(['--variant', 'slow-commit'], ['--timeout', '2', '--tags', '@S-COMMIT-OK']);
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /gave up waiting for the answer to POST http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/files\/upload_sessions\/\w+\/commit \(the commit\) after 2 s/,
    );
    assert.match(stderr, /asked to commit again after 6 s\); raise --timeout/);
    assert.deepEqual(failedRules(report), []);
    // The scenario that met the wait is not judged; the generated sequences, which never met it, judged the rule.
    const scenario = report?.rules.find((rule) => rule.id === 'S-COMMIT-OK');
    assert.ok(scenario && scenario.status !== 'failed' && scenario.scenarios.length === 2, JSON.stringify(scenario));
  });

  serverSelfTests(0);
});
