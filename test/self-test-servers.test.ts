import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ruleById } from '../src/protocol/rules.ts';
import { MINIMAL_SERVER, SERVER_DEFECTS, failedRules, runKit, startServerProcess } from './support/kit.ts';

const TOKEN = 'self-test-token-7f3a';

async function gradeServer(defect: string) {
  const server = await startServerProcess([MINIMAL_SERVER, '--token', TOKEN, '--defect', defect]);
  try {
    return await runKit(['--server', server.baseUrl, '--token', TOKEN]);
  } finally {
    await server.stop();
  }
}

describe('self-test: deliberately broken servers, each a real process on loopback', () => {
  test('an independent server without defects is conformant', async () => {
    const { code, report, stdout } = await gradeServer('none');
    assert.deepEqual(failedRules(report), [], stdout);
    assert.equal(report?.target.kind, 'server');
    assert.ok(report?.rules.every((rule) => rule.id.startsWith('S-') && rule.status === 'passed'));
    assert.equal(code, 0);
  });

  for (const { defect, breaks } of SERVER_DEFECTS) {
    test(`server defect "${defect}" is caught as ${breaks} and nothing else`, async () => {
      const { code, report, stderr } = await gradeServer(defect);
      assert.ok(report, `no report; stderr: ${stderr}`);
      const failed = report.rules.filter((rule) => rule.status === 'failed');
      assert.deepEqual(failedRules(report), [breaks], JSON.stringify(failed.map((rule) => [rule.id, rule.evidence])));
      assert.notEqual(failed[0]?.evidence, '');
      const must = ruleById(breaks)?.level === 'MUST';
      assert.equal(report.verdict, must ? 'non-conformant' : 'conformant-with-warnings');
      assert.equal(code, must ? 1 : 0);
      assert.doesNotMatch(JSON.stringify(report), new RegExp(TOKEN));
    });
  }
});
