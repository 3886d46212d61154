/**
 * The link between the rule catalogue and the Gherkin: every rule has a scenario, and every scenario
 * names exactly one catalogue rule and carries that rule's level and side tags, and @robustness exactly
 * when the rule goes beyond the guide.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { generateMessages } from '@cucumber/gherkin';
import { IdGenerator, SourceMediaType } from '@cucumber/messages';
import { RULES, RULE_TAG, type Rule } from '../protocol/rules.ts';

export interface TraceabilityProblem {
  where: string;
  problem: string;
}

interface TaggedScenario {
  where: string;
  tags: string[];
}

/** Every scenario (each example row of an outline counts) of the .feature files under `dir`, with its inherited tags. */
export async function scenariosUnder(dir: string): Promise<TaggedScenario[]> {
  const files = (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.feature')).sort();
  const scenarios: TaggedScenario[] = [];
  for (const name of files) {
    const path = join(dir, name);
    const uri = relative(process.cwd(), path);
    const envelopes = generateMessages(await readFile(path, 'utf8'), uri, SourceMediaType.TEXT_X_CUCUMBER_GHERKIN_PLAIN, {
      includeGherkinDocument: false,
      includePickles: true,
      includeSource: false,
      newId: IdGenerator.incrementing(),
    });
    for (const envelope of envelopes) {
      if (envelope.parseError) throw new Error(`${uri}: ${envelope.parseError.message}`);
      if (envelope.pickle) scenarios.push({ where: `${uri}: "${envelope.pickle.name}"`, tags: envelope.pickle.tags.map((tag) => tag.name) });
    }
  }
  return scenarios;
}

/** Scenarios of rules beyond the guide (a `robustness` entry in the catalogue) carry this tag too. */
export const ROBUSTNESS_TAG = '@robustness';

export function traceabilityProblems(scenarios: readonly TaggedScenario[], rules: readonly Rule[] = RULES): TraceabilityProblem[] {
  const problems: TraceabilityProblem[] = [];
  const covered = new Set<string>();
  for (const scenario of scenarios) {
    const ids = scenario.tags.flatMap((tag) => RULE_TAG.exec(tag)?.[1] ?? []);
    if (ids.length !== 1) {
      problems.push({
        where: scenario.where,
        problem: ids.length === 0 ? 'carries no rule id tag' : `carries ${ids.length} rule ids (${ids.join(', ')}); one rule, one scenario`,
      });
      continue;
    }
    const id = ids[0] ?? '';
    const rule = rules.find((candidate) => candidate.id === id);
    if (!rule) {
      problems.push({ where: scenario.where, problem: `@${id} is not a rule of the catalogue` });
      continue;
    }
    covered.add(id);
    if (!scenario.tags.includes(`@${rule.level}`))
      problems.push({ where: scenario.where, problem: `@${id} is a ${rule.level} rule: tag the scenario @${rule.level}` });
    const otherLevel = rule.level === 'MUST' ? '@SHOULD' : '@MUST';
    if (scenario.tags.includes(otherLevel)) problems.push({ where: scenario.where, problem: `@${id} is a ${rule.level} rule, not ${otherLevel.slice(1)}` });
    if (!scenario.tags.includes(`@${rule.side}`))
      problems.push({ where: scenario.where, problem: `@${id} is a ${rule.side} rule: tag the scenario @${rule.side}` });
    const robust = scenario.tags.includes(ROBUSTNESS_TAG);
    if (rule.robustness && !robust) problems.push({ where: scenario.where, problem: `@${id} goes beyond the guide: tag the scenario ${ROBUSTNESS_TAG}` });
    if (!rule.robustness && robust)
      problems.push({ where: scenario.where, problem: `${ROBUSTNESS_TAG} marks rules beyond the guide; @${id} restates the guide` });
  }
  for (const rule of rules) {
    if (!covered.has(rule.id)) problems.push({ where: 'catalogue', problem: `${rule.id} has no scenario` });
    if (rule.robustness && rule.level !== 'SHOULD') problems.push({ where: 'catalogue', problem: `${rule.id} goes beyond the guide: it can only be a SHOULD` });
    if (rule.robustness && rule.robustness.sources.length === 0)
      problems.push({ where: 'catalogue', problem: `${rule.id} goes beyond the guide: name its sources` });
  }
  return problems;
}
