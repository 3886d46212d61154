/**
 * The specification as one document, rendered from what the kit runs: the rule catalogue
 * (protocol/rules.ts), its thresholds with their reasons, the Gherkin scenarios, and the server probe spaces.
 * `npm run spec` writes it (docs/spec.html, docs/spec.md) with the catalogue as data (schema/rules.json), so
 * none of them can drift from the kit.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { generateMessages } from '@cucumber/gherkin';
import { IdGenerator, SourceMediaType } from '@cucumber/messages';
import * as catalogue from '../protocol/rules.ts';
import { RULES, RULE_TAG, type Rule } from '../protocol/rules.ts';

/** One server rule's probe space: the dimensions it varies and the cases drawn from them. */
export interface ProbeSpaceView {
  rule: string;
  dimensions: { name: string; values: string[] }[];
  cases: { id: string; values: Record<string, string>; expect: string; depth: 'default' | 'wide' }[];
}

/** A Gherkin scenario (an outline with its examples) as written, and the rules its pickles are tagged with. */
export interface SpecScenario {
  uri: string;
  name: string;
  rules: string[];
  /** The scenario's source text, tags included. */
  text: string;
}

/** An exported threshold of the catalogue, its value and the doc comment that gives its reason. */
export interface SpecThreshold {
  name: string;
  value: string;
  reason: string;
}

export interface SpecInput {
  kit: { name: string; version: string };
  rules: readonly Rule[];
  scenarios: readonly SpecScenario[];
  thresholds: readonly SpecThreshold[];
  probeSpaces: readonly ProbeSpaceView[];
}

/** Every scenario of the .feature files under `dir` (paths relative to `root`), with the rule ids its pickles carry. */
export async function specScenarios(root: string, dir: string): Promise<SpecScenario[]> {
  const files = (await readdir(join(root, dir), { recursive: true })).filter((name) => name.endsWith('.feature')).sort();
  const out: SpecScenario[] = [];
  for (const name of files) {
    const uri = `${dir}/${name}`;
    const source = await readFile(join(root, uri), 'utf8');
    const envelopes = generateMessages(source, uri, SourceMediaType.TEXT_X_CUCUMBER_GHERKIN_PLAIN, {
      includeGherkinDocument: true,
      includePickles: true,
      includeSource: false,
      newId: IdGenerator.incrementing(),
    });
    const lines = source.split('\n');
    const rulesOf = new Map<string, Set<string>>();
    for (const envelope of envelopes) {
      if (envelope.parseError) throw new Error(`${uri}: ${envelope.parseError.message}`);
      const pickle = envelope.pickle;
      if (!pickle) continue;
      const set = rulesOf.get(pickle.astNodeIds[0] ?? '') ?? new Set<string>();
      for (const tag of pickle.tags) {
        const id = RULE_TAG.exec(tag.name)?.[1];
        if (id) set.add(id);
      }
      rulesOf.set(pickle.astNodeIds[0] ?? '', set);
    }
    const feature = envelopes.find((envelope) => envelope.gherkinDocument)?.gherkinDocument?.feature;
    if (!feature) continue;
    const children = feature.children.flatMap((child) => (child.rule ? child.rule.children : [child]));
    // A scenario's text runs from its first tag to the line before the next child (or the end).
    const starts = children.map((child) => {
      const node = child.scenario ?? child.background;
      return Math.min(node?.location.line ?? Infinity, ...(child.scenario?.tags ?? []).map((tag) => tag.location.line));
    });
    children.forEach((child, index) => {
      const scenario = child.scenario;
      if (!scenario) return;
      const from = starts[index] ?? 1;
      const to = (starts[index + 1] ?? lines.length + 1) - 1;
      const text = (a: number, b: number) =>
        dedent(
          lines
            .slice(a - 1, b)
            .join('\n')
            .replace(/\s+$/, ''),
        );
      const ruleTagged = scenario.examples.filter((examples) => examples.tags.some((tag) => RULE_TAG.test(tag.name)));
      if (ruleTagged.length === 0) {
        out.push({ uri, name: scenario.name, rules: [...(rulesOf.get(scenario.id) ?? [])].sort(), text: text(from, to) });
        return;
      }
      // An outline whose Examples each name a rule: under each rule, the outline with that rule's Examples only.
      const blockStart = (examples: (typeof scenario.examples)[number]) => Math.min(examples.location.line, ...examples.tags.map((tag) => tag.location.line));
      const blocks = scenario.examples.map((examples, at) => {
        const next = scenario.examples[at + 1];
        return { examples, from: blockStart(examples), to: next ? blockStart(next) - 1 : to };
      });
      const header = text(from, (blocks[0]?.from ?? to + 1) - 1);
      for (const block of blocks) {
        const ids = block.examples.tags.flatMap((tag) => RULE_TAG.exec(tag.name)?.[1] ?? []);
        const indent = /^ */.exec(lines[from - 1] ?? '')?.[0].length ?? 0;
        const body = lines
          .slice(block.from - 1, block.to)
          .map((line) => line.slice(indent))
          .join('\n')
          .replace(/\s+$/, '');
        for (const id of ids) out.push({ uri, name: scenario.name, rules: [id], text: `${header}\n\n${body}` });
      }
    });
  }
  return out;
}

function dedent(text: string): string {
  const indents = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => /^ */.exec(line)?.[0].length ?? 0);
  const cut = Math.min(...indents);
  return text
    .split('\n')
    .map((line) => line.slice(cut))
    .join('\n');
}

/** The exported numeric constants of rules.ts's source with their doc comments: the thresholds and tolerances. */
export function specThresholds(source: string, values: Readonly<Record<string, unknown>>): SpecThreshold[] {
  const out: SpecThreshold[] = [];
  for (const match of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const (\w+) = ([^;]+);/g)) {
    const [, comment = '', name = '', expression = ''] = match;
    const value = values[name];
    if (typeof value !== 'number') continue;
    const reason = comment
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s?/, '').trim())
      .filter(Boolean)
      .join(' ');
    out.push({ name, value: expression.trim() === String(value) ? String(value) : `${value} (${expression.trim()})`, reason });
  }
  return out;
}

const SECTION_RANK: [RegExp, number][] = [
  [/\/create-session\//, 0],
  [/\/upload-part\/#part-size/, 1],
  [/\/upload-part\/#content-range/, 2],
  [/\/upload-part\/#get-sha-digest/, 3],
  [/\/upload-part\/#range-overlap/, 4],
  [/\/upload-part\/#parallel-uploads/, 5],
  [/\/upload-part\/#response/, 6],
  [/\/upload-part\//, 7],
  [/\/commit-session\//, 8],
];

/** Box's guide sections in the order of a chunked upload (create, parts, commit), then the API reference and the rest in catalogue order. */
export function guideSections(rules: readonly Rule[]): { section: string; url: string; rules: Rule[] }[] {
  const sections: { section: string; url: string; rules: Rule[]; rank: number; first: number }[] = [];
  rules.forEach((rule, index) => {
    const found = sections.find((entry) => entry.section === rule.guide.section);
    if (found) return void found.rules.push(rule);
    const rank = SECTION_RANK.find(([pattern]) => pattern.test(rule.guide.url))?.[1] ?? 100;
    sections.push({ section: rule.guide.section, url: rule.guide.url, rules: [rule], rank, first: index });
  });
  return sections.sort((a, b) => a.rank - b.rank || a.first - b.first).map(({ section, url, rules: members }) => ({ section, url, rules: members }));
}

const escapeHtml = (text: string) => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** The catalogue as data (schema/rules.json). */
export function rulesJson(input: Pick<SpecInput, 'kit' | 'rules'>): string {
  const rules = input.rules.map((rule) => ({
    id: rule.id,
    level: rule.level,
    side: rule.side,
    statement: rule.statement,
    guide: rule.guide,
    ...(rule.robustness ? { robustness: rule.robustness } : {}),
  }));
  return `${JSON.stringify({ $comment: `The rule catalogue of ${input.kit.name}, generated by npm run spec from src/protocol/rules.ts: do not edit.`, kit: input.kit, rules }, null, 2)}\n`;
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1f2328}
h2{margin-top:2.4rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}h3{margin-top:1.8rem}
.rule{border-left:4px solid #0969da;padding:.2rem 0 .2rem 1rem;margin:1.2rem 0}.rule.server{border-color:#8250df}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:0 .5rem;border-radius:1rem;margin-left:.4rem;color:#fff}
.badge.MUST{background:#cf222e}.badge.SHOULD{background:#9a6700}.badge.client{background:#0969da}.badge.server{background:#8250df}.badge.robustness{background:#57606a}
.says{color:#57606a}blockquote{margin:.4rem 0;padding-left:.8rem;border-left:3px solid #d0d7de;color:#57606a}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f6f8fa}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;font-size:12.5px;white-space:pre-wrap;overflow-wrap:anywhere}
details summary{cursor:pointer;color:#0969da}
#index{columns:3 16rem}td.name{white-space:nowrap}#index li{break-inside:avoid}
`;

/** The specification as one self-contained HTML page: no script, no network. */
export function specHtml(input: SpecInput): string {
  const sections = guideSections(input.rules);
  const index = input.rules.map((rule) => `<li><a href="#${rule.id}">${rule.id}</a> <span class="says">${rule.level}, ${rule.side}</span></li>`).join('\n');
  const body = sections
    .map(
      (section) =>
        `<section id="section-${slug(section.section)}"><h2>${escapeHtml(section.section)}</h2>
<p class="says">Box’s guide: <a href="${escapeHtml(section.url)}">${escapeHtml(section.url)}</a></p>
${section.rules.map((rule) => ruleHtml(rule, input)).join('\n')}</section>`,
    )
    .join('\n');
  const thresholds = input.thresholds
    .map(
      (entry) =>
        `<tr id="threshold-${entry.name}"><td class="name"><code>${entry.name}</code></td><td>${escapeHtml(entry.value)}</td><td>${escapeHtml(entry.reason)}</td></tr>`,
    )
    .join('\n');
  const probeSpaces =
    input.probeSpaces.length === 0
      ? '<p>No probe space is declared in this version of the kit: the server rules are probed by the scenarios above.</p>'
      : input.probeSpaces.map((space) => probeSpaceHtml(space)).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Box chunked uploads: the specification (${escapeHtml(input.kit.name)} ${escapeHtml(input.kit.version)})</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>Box chunked uploads: the specification</h1>
<p>Every rule the conformance kit (${escapeHtml(input.kit.name)} ${escapeHtml(input.kit.version)}) judges, under the section of Box’s guide it restates, with the Gherkin scenarios that show it.
MUST rules decide the verdict; SHOULD rules are warnings (errors with <code>--strict</code>). Client rules are judged from what a client sends to the kit’s simulated server; server rules by driving a server with the reference uploader and crafted requests.
Generated from <code>src/protocol/rules.ts</code> and <code>features/</code> by <code>npm run spec</code>; the catalogue as data: <code>schema/rules.json</code>.</p>
<h2 id="index-by-id">Index by id</h2>
<ul id="index">
${index}
</ul>
<p><a href="#thresholds">Thresholds and tolerances</a> · <a href="#probe-spaces">Server probe spaces</a></p>
${body}
<section id="thresholds"><h2>Thresholds and tolerances</h2>
<p>The numbers the rules judge by, each written once in the catalogue, with why it is what it is.</p>
<table><thead><tr><th>name</th><th>value</th><th>why</th></tr></thead><tbody>
${thresholds}
</tbody></table></section>
<section id="probe-spaces"><h2>Server probe spaces</h2>
${probeSpaces}</section>
</body></html>
`;
}

function ruleHtml(rule: Rule, input: SpecInput): string {
  const scenarios = input.scenarios.filter((scenario) => scenario.rules.includes(rule.id));
  const robustness = rule.robustness
    ? `<p><strong>Beyond the guide, why:</strong> ${escapeHtml(rule.robustness.why)}</p><ul>${rule.robustness.sources
        .map((source) => `<li><a href="${escapeHtml(source.url)}">${escapeHtml(source.title)}</a></li>`)
        .join('')}</ul>`
    : '';
  const gherkin = scenarios
    .map(
      (scenario) =>
        `<details><summary>${escapeHtml(scenario.name)} <span class="says">(${escapeHtml(scenario.uri)})</span></summary><pre>${escapeHtml(scenario.text)}</pre></details>`,
    )
    .join('\n');
  const probe = input.probeSpaces.some((space) => space.rule === rule.id) ? ` <a href="#probe-${rule.id}">probe space</a>` : '';
  return `<div class="rule ${rule.side}" id="${rule.id}"><h3>${rule.id}<span class="badge ${rule.level}">${rule.level}</span><span class="badge ${rule.side}">${rule.side}</span>${rule.robustness ? '<span class="badge robustness">@robustness</span>' : ''}</h3>
<p>The ${rule.side} ${escapeHtml(rule.statement)}.</p>
<blockquote><a href="${escapeHtml(rule.guide.url)}">${escapeHtml(rule.guide.section)}</a>: “${escapeHtml(rule.guide.says)}”</blockquote>
${robustness}<p class="says">${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'}:${probe}</p>
${gherkin}</div>`;
}

function probeSpaceHtml(space: ProbeSpaceView): string {
  const names = space.dimensions.map((dimension) => dimension.name);
  const dimensions = space.dimensions
    .map((dimension) => `<tr><td>${escapeHtml(dimension.name)}</td><td>${escapeHtml(dimension.values.join(', '))}</td></tr>`)
    .join('');
  const cases = space.cases
    .map(
      (entry) =>
        `<tr><td>${escapeHtml(entry.id)}</td>${names.map((name) => `<td>${escapeHtml(entry.values[name] ?? '')}</td>`).join('')}<td>${escapeHtml(entry.expect)}</td><td>${entry.depth}</td></tr>`,
    )
    .join('\n');
  return `<section id="probe-${space.rule}"><h3><a href="#${space.rule}">${space.rule}</a></h3>
<table><thead><tr><th>dimension</th><th>values</th></tr></thead><tbody>${dimensions}</tbody></table>
<table><thead><tr><th>case</th>${names.map((name) => `<th>${escapeHtml(name)}</th>`).join('')}<th>expected</th><th>depth</th></tr></thead><tbody>
${cases}
</tbody></table></section>`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The same specification in Markdown. */
export function specMarkdown(input: SpecInput): string {
  const out: string[] = [
    '# Box chunked uploads: the specification',
    '',
    `Every rule the conformance kit (${input.kit.name} ${input.kit.version}) judges, under the section of Box’s guide it restates, with the Gherkin scenarios that show it. MUST rules decide the verdict; SHOULD rules are warnings (errors with \`--strict\`). Generated from \`src/protocol/rules.ts\` and \`features/\` by \`npm run spec\`; do not edit. The catalogue as data: \`schema/rules.json\`.`,
    '',
    '## Index by id',
    '',
    '| id | level | side | section |',
    '|---|---|---|---|',
    ...input.rules.map((rule) => `| [${rule.id}](#${rule.id.toLowerCase()}) | ${rule.level} | ${rule.side} | ${cell(rule.guide.section)} |`),
    '',
  ];
  for (const section of guideSections(input.rules)) {
    out.push(`## ${section.section}`, '', `Box’s guide: <${section.url}>`, '');
    for (const rule of section.rules) {
      out.push(`### ${rule.id}`, '', `**${rule.level}**, ${rule.side}${rule.robustness ? ', @robustness' : ''}. The ${rule.side} ${rule.statement}.`, '');
      out.push(`> [${rule.guide.section}](${rule.guide.url}): “${rule.guide.says}”`, '');
      if (rule.robustness) {
        out.push(`Beyond the guide, why: ${rule.robustness.why}`, '', ...rule.robustness.sources.map((source) => `- [${source.title}](${source.url})`), '');
      }
      for (const scenario of input.scenarios.filter((candidate) => candidate.rules.includes(rule.id)))
        out.push(`<details><summary>${escapeHtml(scenario.name)} (${scenario.uri})</summary>`, '', '```gherkin', scenario.text, '```', '', '</details>', '');
    }
  }
  out.push('## Thresholds and tolerances', '', '| name | value | why |', '|---|---|---|');
  out.push(...input.thresholds.map((entry) => `| \`${entry.name}\` | ${cell(entry.value)} | ${cell(entry.reason)} |`), '');
  out.push('## Server probe spaces', '');
  if (input.probeSpaces.length === 0)
    out.push('No probe space is declared in this version of the kit: the server rules are probed by the scenarios above.', '');
  for (const space of input.probeSpaces) {
    const names = space.dimensions.map((dimension) => dimension.name);
    out.push(
      `### ${space.rule} probe space`,
      '',
      '| dimension | values |',
      '|---|---|',
      ...space.dimensions.map((d) => `| ${cell(d.name)} | ${cell(d.values.join(', '))} |`),
      '',
    );
    out.push(`| case | ${names.map(cell).join(' | ')} | expected | depth |`, `|---|${names.map(() => '---|').join('')}---|---|`);
    out.push(
      ...space.cases.map(
        (entry) => `| ${cell(entry.id)} | ${names.map((name) => cell(entry.values[name] ?? '')).join(' | ')} | ${cell(entry.expect)} | ${entry.depth} |`,
      ),
      '',
    );
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** The files `npm run spec` writes, relative to the kit's root. */
export const SPEC_FILES = { html: 'docs/spec.html', markdown: 'docs/spec.md', rules: 'schema/rules.json' } as const;

/** Everything the specification is rendered from, read from the kit at `root`. */
export async function specInput(root: string, probeSpaces: readonly ProbeSpaceView[]): Promise<SpecInput> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const scenarios = [...(await specScenarios(root, 'features/client')), ...(await specScenarios(root, 'features/server'))];
  const thresholds = specThresholds(await readFile(join(root, 'src/protocol/rules.ts'), 'utf8'), catalogue);
  return { kit: { name: manifest.name, version: manifest.version }, rules: RULES, scenarios, thresholds, probeSpaces };
}

/** The three files' contents, by path. */
export function renderSpec(input: SpecInput): Record<(typeof SPEC_FILES)[keyof typeof SPEC_FILES], string> {
  return { [SPEC_FILES.html]: specHtml(input), [SPEC_FILES.markdown]: specMarkdown(input), [SPEC_FILES.rules]: rulesJson(input) } as Record<
    (typeof SPEC_FILES)[keyof typeof SPEC_FILES],
    string
  >;
}
