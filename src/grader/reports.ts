import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { htmlReport } from './html.ts';
import { type ConformanceReport, statusText } from './report-model.ts';
import { reproductionScript } from './reproduction.ts';
import { type RuleResult, type ScenarioResult, countRules } from './results.ts';

export type { ConformanceReport } from './report-model.ts';

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ICON = { passed: '✅', failed: '❌', skipped: '⏭️', blocked: '⛔' } as const;

export function markdownReport(report: ConformanceReport): string {
  const levels = (['MUST', 'SHOULD'] as const).map((level) => {
    const counts = countRules(report.rules.filter((rule) => rule.level === level));
    return `| ${level} | ${counts.passed} | ${counts.failed} | ${counts.skipped} | ${counts.blocked} |`;
  });
  const rows = report.rules.map(
    (rule) =>
      `| [${rule.id}](${rule.guide.url}) | ${rule.level} | ${ICON[rule.status]} ${statusText(rule)} | the ${rule.side} ${escapeCell(rule.statement)}<br>*${escapeCell(rule.guide.section)}: “${escapeCell(rule.guide.says)}”* | ${escapeCell(rule.evidence)} |`,
  );
  return [
    `# Chunked upload conformance: ${report.verdict}`,
    '',
    `Target (${report.target.kind}): \`${report.target.name}\`  `,
    `Kit: ${report.kit.name} ${report.kit.version}, ${report.generatedAt}`,
    '',
    '| level | passed | failed | skipped | blocked |',
    '|---|---|---|---|---|',
    ...levels,
    '',
    ...failedRulesMarkdown(report.rules),
    '## All rules',
    '',
    '| rule | level | status | statement, and the guide it restates | evidence |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Each failed rule, its finding and its reproduction: what a team acts on, before the full table. */
function failedRulesMarkdown(rules: readonly RuleResult[]): string[] {
  const failed = rules.filter((rule) => rule.status === 'failed');
  if (failed.length === 0) return [];
  const fence = (text: string, language = '') => ['```' + language, text, '```'];
  return [
    '## Failed rules, and how to reproduce them',
    '',
    ...failed.flatMap((rule) => {
      const reproduction = rule.reproduction;
      const script = reproduction ? reproductionScript(reproduction) : '';
      return [
        `### ${rule.id} (${rule.level}, ${rule.side}${rule.expectedToFail ? ', known deviation' : ''})`,
        '',
        `The ${rule.side} ${rule.statement}.`,
        '',
        `${rule.evidence}`,
        '',
        ...(reproduction && reproduction.observed.length > 0 ? ['What the kit saw:', '', ...fence(reproduction.observed.join('\n')), ''] : []),
        ...(script ? ['Reproduce it outside the kit:', '', ...fence(script, 'sh'), ''] : []),
        ...(reproduction ? ['Rerun only this rule:', '', ...fence(reproduction.rerun, 'sh'), ''] : []),
      ];
    }),
  ];
}

/** One test case per rule, so CI shows rules rather than steps. */
export function junitReport(report: ConformanceReport): string {
  const gating = (rule: RuleResult) => (rule.status === 'failed' && !rule.expectedToFail) || (rule.status === 'passed' && rule.expectedToFail === true);
  const failed = report.rules.filter(gating).length;
  const skipped = report.rules.filter((rule) => !gating(rule) && rule.status !== 'passed').length;
  const cases = report.rules.map((rule) => {
    const name = escapeXml(`${rule.id}: the ${rule.side} ${rule.statement}`);
    const open = `    <testcase classname="${rule.side}.${rule.level}" name="${name}">`;
    const guide = `      <system-out>${escapeXml(`${rule.guide.section} (${rule.guide.url}): ${rule.guide.says}`)}</system-out>`;
    const known = rule.expectedToFail ? ' (known deviation, listed in --expect-failures)' : '';
    if (rule.status === 'passed' && rule.expectedToFail)
      return `${open}\n      <failure message="listed in --expect-failures, but passed: remove it from the list"/>\n${guide}\n    </testcase>`;
    if (rule.status === 'failed' && !rule.expectedToFail)
      return `${open}\n      <failure message="${escapeXml(rule.evidence)}">${escapeXml(`Scenarios: ${rule.scenarios.join('; ')}\n${rule.evidence}`)}</failure>\n${guide}\n    </testcase>`;
    if (rule.status !== 'passed') {
      const why =
        rule.status === 'failed'
          ? `failed${known}: ${rule.evidence}`
          : rule.status === 'blocked'
            ? `not judged, ${statusText(rule)}: ${rule.evidence}`
            : rule.evidence || 'no scenario of this rule ran';
      return `${open}\n      <skipped message="${escapeXml(why)}"/>\n${guide}\n    </testcase>`;
    }
    return `${open}\n${guide}\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chunked-upload-conformance" tests="${report.rules.length}" failures="${failed}" skipped="${skipped}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${escapeXml(`${report.target.kind}: ${report.target.name}`)}" tests="${report.rules.length}" failures="${failed}" skipped="${skipped}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** A shields-style badge: verdict and MUST rules passed out of total. */
export function badgeSvg(report: ConformanceReport): string {
  const must = report.rules.filter((rule) => rule.level === 'MUST');
  const value = `${report.verdict} ${must.filter((rule) => rule.status === 'passed').length}/${must.length} MUST`;
  const colour = { conformant: '#2ea44f', 'conformant-with-warnings': '#dbab09', 'non-conformant': '#cb2431' }[report.verdict];
  const label = 'chunked upload';
  const labelWidth = 7 * label.length + 12;
  const valueWidth = 7 * value.length + 12;
  const width = labelWidth + valueWidth;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${label}: ${value}">
  <title>${label}: ${value}</title>
  <rect width="${labelWidth}" height="20" fill="#555"/>
  <rect x="${labelWidth}" width="${valueWidth}" height="20" fill="${colour}"/>
  <g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">
    <text x="${labelWidth / 2}" y="14">${label}</text>
    <text x="${labelWidth + valueWidth / 2}" y="14">${escapeXml(value)}</text>
  </g>
</svg>
`;
}

/** Writes every report but Cucumber's own, from the graded rules and the scenarios they came from. */
export async function writeReports(dir: string, report: ConformanceReport, scenarios: readonly ScenarioResult[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(join(dir, 'conformance.html'), htmlReport(report, scenarios)),
    writeFile(join(dir, 'conformance.json'), `${JSON.stringify(report, null, 2)}\n`),
    writeFile(join(dir, 'conformance.md'), markdownReport(report)),
    writeFile(join(dir, 'junit.xml'), junitReport(report)),
    writeFile(join(dir, 'conformance.svg'), badgeSvg(report)),
  ]);
}

/** The console summary: one line per rule, then the verdict, then a count line CI can read. */
export function consoleSummary(report: ConformanceReport): string {
  const width = Math.max(...report.rules.map((rule) => rule.id.length));
  const lines = report.rules.map((rule) => {
    const evidence = rule.evidence ? `  ${rule.evidence.length > 140 ? `${rule.evidence.slice(0, 137)}…` : rule.evidence}` : '';
    const known = rule.expectedToFail
      ? rule.status === 'failed'
        ? '  (known deviation)'
        : rule.status === 'passed'
          ? '  (listed in --expect-failures, but passed: remove it from the list)'
          : ''
      : '';
    const blocked = rule.status === 'blocked' ? `  (${statusText(rule)})` : '';
    return `  ${rule.status.padEnd(7)} ${rule.id.padEnd(width)} ${rule.level.padEnd(6)}${known}${blocked}${evidence}`;
  });
  const { passed, failed, skipped, blocked } = report.summary;
  const reruns = report.rules.flatMap((rule) => (rule.status === 'failed' && rule.reproduction ? [`  ${rule.id}: ${rule.reproduction.rerun}`] : []));
  return [
    ...lines,
    ...(reruns.length > 0 ? ['', 'Each failed rule alone (its reproduction is in conformance.html, .md and .json):', ...reruns] : []),
    '',
    `verdict: ${report.verdict} (${report.target.kind}: ${report.target.name})`,
    `${passed} passed, ${failed} failed, ${skipped} skipped, ${blocked} blocked`,
  ].join('\n');
}
