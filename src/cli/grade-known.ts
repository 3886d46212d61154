// npm run grade:known: grades every client adapter in clients/ with the kit, one real process each, and
// writes the results table (docs/known-clients.md, and the README between its markers) with the date
// and the versions graded. What each client scores is a finding, not an expectation.
// npm run grade:known -- --only <id>,<id>: grades those clients only; the others keep their rows and evidence.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ConformanceReport } from '../grader/reports.ts';
import { KIT_ROOT } from '../kit/conformance.ts';
import { KNOWN_CLIENTS } from './known-clients.ts';

const START = '<!-- known-clients:start -->';
const END = '<!-- known-clients:end -->';

async function versionOf(packageName: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(KIT_ROOT, 'node_modules', packageName, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

function commandVersion(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', () => resolve('not found'));
    // "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/…" → "curl 7.88.1"
    child.on('close', () => resolve((out.split('\n')[0] ?? '').split(' ').slice(0, 2).join(' ')));
  });
}

/** The client's report, unless the kit could not run it (exit 2: a client that never ran, say). */
function grade(command: string, kitArgs: readonly string[], reportDir: string): Promise<ConformanceReport | undefined> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', '--import', './src/register.mjs', 'src/cli/conformance.ts', '--client', command, ...kitArgs, '--report-dir', reportDir],
      {
        cwd: KIT_ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    child.on('close', (code) => {
      if (code === 2) return resolve(undefined);
      readFile(join(reportDir, 'conformance.json'), 'utf8').then(
        (text) => resolve(JSON.parse(text) as ConformanceReport),
        () => resolve(undefined),
      );
    });
  });
}

const docPath = join(KIT_ROOT, 'docs', 'known-clients.md');
const { values } = parseArgs({ options: { only: { type: 'string' } } });
const chosen = values.only === undefined ? undefined : new Set(values.only.split(','));
for (const id of chosen ?? []) if (!KNOWN_CLIENTS.some((client) => client.id === id)) throw new Error(`no known client ${id}`);
const previous = chosen ? await readFile(docPath, 'utf8') : '';
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const rows: string[] = [];
const details: string[] = [];
for (const client of KNOWN_CLIENTS) {
  if (chosen && !chosen.has(client.id)) {
    // Kept as the last run wrote them (table rows are padded by the formatter: matched by the name's cell).
    const row = previous.split('\n').find((line) => new RegExp(`^\\| ${escaped(client.name)} +\\|`).test(line));
    const section = previous.split('\n### ').find((part) => part.startsWith(`${client.name}\n`));
    if (row) rows.push(row);
    if (section) details.push(`### ${section.trimEnd()}`);
    continue;
  }
  const version = client.package
    ? `${client.package.name} ${await versionOf(client.package.module)}`
    : [client.version, ...(await Promise.all((client.versionCommands ?? []).map(([command, args]) => commandVersion(command, args))))]
        .filter(Boolean)
        .join(', ');
  process.stderr.write(`grading ${client.name} (${version})…\n`);
  const report = await grade(client.command, client.kitArgs ?? [], join(KIT_ROOT, 'reports', 'known', client.id));
  const command = `\`${client.command}\`${client.kitArgs ? ` \`${client.kitArgs.join(' ')}\`` : ''}`;
  const failed = report?.rules.filter((rule) => rule.status === 'failed') ?? [];
  const list = (level: string) =>
    failed
      .filter((rule) => rule.level === level)
      .map((rule) => rule.id)
      .join(', ') || '—';
  rows.push(
    report
      ? `| ${client.name} | ${version} | ${command} | **${report.verdict}** | ${report.summary.passed}/${report.rules.length} | ${list('MUST')} | ${list('SHOULD')} |`
      : `| ${client.name} | ${version} | ${command} | the kit could not run | | | |`,
  );
  const evidence = failed.map((rule) => `- **${rule.id}** (${rule.level}): ${rule.evidence.replaceAll('\n', ' ')}`);
  if (client.note || evidence.length > 0)
    details.push([`### ${client.name}`, ...(client.note ? ['', client.note] : []), ...(evidence.length > 0 ? ['', ...evidence] : [])].join('\n'));
}

const kit = JSON.parse(await readFile(join(KIT_ROOT, 'package.json'), 'utf8')) as { version: string };
const table = [
  `${chosen ? `Last graded on ${new Date().toISOString().slice(0, 10)} (${[...chosen].join(', ')}; the others as an earlier run graded them)` : `Graded on ${new Date().toISOString().slice(0, 10)}`} with kit ${kit.version}, Node ${process.version}, by \`npm run grade:known\` (reports in \`reports/known/<client>/\`).`,
  '',
  '| client | version | command | verdict | rules passed | MUST failed | SHOULD failed |',
  '|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
// Written as `npm run format` would write them, so that `npm run lint` stays clean.
const formatted = async (path: string, text: string) => {
  const prettier = await import('prettier');
  return prettier.format(text, { ...(await prettier.resolveConfig(path)), filepath: path });
};
const evidence = `## What each failed, and the evidence\n\nThe first finding the kit reported for each rule a client failed; the whole evidence is in its reports.\n\n${details.join('\n\n')}`;
await writeFile(docPath, await formatted(docPath, `# Known clients, graded\n\n${table}\n\n${evidence}\n`));
const readmePath = join(KIT_ROOT, 'README.md');
const readme = await readFile(readmePath, 'utf8');
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start >= 0 && end > start)
  await writeFile(readmePath, await formatted(readmePath, `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`));
process.stdout.write(`${table}\n`);
