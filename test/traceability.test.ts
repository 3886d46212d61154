import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scenariosUnder, traceabilityProblems } from '../src/kit/traceability.ts';
import { RULES } from '../src/protocol/rules.ts';
import { ROOT } from './support/kit.ts';

describe('traceability between the rule catalogue and the features', () => {
  test('every rule has a scenario, and every scenario names one known rule with its level and side', async () => {
    const scenarios = await scenariosUnder(join(ROOT, 'features'));
    assert.ok(scenarios.length > 50);
    assert.deepEqual(traceabilityProblems(scenarios), []);
  });

  test('a deliberately mis-tagged feature is caught, each problem named', async () => {
    const problems = traceabilityProblems(await scenariosUnder(join(ROOT, 'test/fixtures/features-broken')));
    const about = (name: string) => problems.filter((problem) => problem.where.includes(`"${name}"`)).map((problem) => problem.problem);
    assert.deepEqual(about('Correctly tagged'), []);
    assert.deepEqual(about('Carries no rule id'), ['carries no rule id tag']);
    assert.deepEqual(about('Names a rule the catalogue does not have'), ['@C-NO-SUCH-RULE is not a rule of the catalogue']);
    assert.deepEqual(about('Lacks its level tag'), ['@C-AUTH is a MUST rule: tag the scenario @MUST']);
    assert.deepEqual(about('Lacks its side tag'), ['@S-AUTH is a server rule: tag the scenario @server']);
    assert.deepEqual(about('Lacks its robustness tag'), ['@C-RECOVER-STORED goes beyond the guide: tag the scenario @robustness']);
    assert.deepEqual(about('Claims robustness for a rule of the guide'), ['@robustness marks rules beyond the guide; @C-AUTH restates the guide']);
    assert.ok(problems.some((problem) => problem.problem === 'C-CREATE has no scenario'));
  });

  test('a rule beyond the guide must be a SHOULD and name its sources', () => {
    const beyond = RULES.find((rule) => rule.robustness);
    assert.ok(beyond);
    const scenario = { where: 'x', tags: [`@${beyond.id}`, '@MUST', '@client', '@robustness'] };
    const problems = traceabilityProblems([scenario], [{ ...beyond, level: 'MUST', robustness: { why: 'x', sources: [] } }]).map((problem) => problem.problem);
    assert.ok(problems.includes(`${beyond.id} goes beyond the guide: it can only be a SHOULD`));
    assert.ok(problems.includes(`${beyond.id} goes beyond the guide: name its sources`));
  });
});
