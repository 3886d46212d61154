/**
 * conformance.html: one self-contained page (inline CSS and SVG, no script, no network) that leads with
 * what failed (the verdict, then each failed rule with its finding, exchanges and reproduction), then the
 * rule matrix and a timeline of every client run.
 */
import type { ClientRunAttachment, ServerExchangeAttachment, TimelineExchange } from './attachments.ts';
import type { Finding } from './findings.ts';
import { inFlight } from './in-flight.ts';
import { type ConformanceReport, statusText } from './report-model.ts';
import { type Reproduction, reproductionScript } from './reproduction.ts';
import { clientRunsOf, countRules, describeRun, type RuleResult, type ScenarioResult } from './results.ts';

const escapeHtml = (text: string) => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1f2328}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:1rem;color:#fff;font-weight:600}
.conformant{background:#2ea44f}.conformant-with-warnings{background:#bf8700}.non-conformant{background:#cb2431}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
table#rules{table-layout:fixed}
th{background:#f6f8fa}td.passed{color:#1a7f37;font-weight:600}td.failed{color:#cf222e;font-weight:600}td.skipped{color:#6e7781}td.blocked{color:#9a6700;font-weight:600}
.says{color:#57606a;font-size:12px}.evidence{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;overflow:auto;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.level{font-weight:400;color:#57606a;font-size:14px}.failed-rule{border-left:4px solid #cf222e;padding-left:1rem;margin:1.5rem 0}.reproduction h5{margin:.8rem 0 .2rem;font-size:13px}
.timeline-wrap{overflow-x:auto}
.exchange.culprit{border-color:#cf222e;background:#fff5f5}
.run{margin:1.5rem 0}.run h3{margin-bottom:.2rem}.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
svg text{font:11px system-ui,sans-serif}
`;

export function htmlReport(report: ConformanceReport, scenarios: readonly ScenarioResult[]): string {
  const levels = (['MUST', 'SHOULD'] as const)
    .map((level) => {
      const counts = countRules(report.rules.filter((rule) => rule.level === level));
      return `<tr><td>${level}</td><td>${counts.passed}</td><td>${counts.failed}</td><td>${counts.skipped}</td><td>${counts.blocked}</td></tr>`;
    })
    .join('');
  const failed = report.rules.filter((rule) => rule.status === 'failed');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chunked upload conformance: ${escapeHtml(report.verdict)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>Chunked upload conformance <span class="verdict ${report.verdict}" id="verdict">${escapeHtml(report.verdict)}</span></h1>
<p>Target (${escapeHtml(report.target.kind)}): <code>${escapeHtml(report.target.name)}</code><br>
Kit ${escapeHtml(report.kit.name)} ${escapeHtml(report.kit.version)}, ${escapeHtml(report.generatedAt)}, ${(report.durationMs / 1000).toFixed(1)} s.
${report.summary.passed} rules passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped, ${report.summary.blocked} blocked (not judged: another rule's failure stopped every run that could show them).</p>
<table style="width:auto"><tr><th>level</th><th>passed</th><th>failed</th><th>skipped</th><th>blocked</th></tr>${levels}</table>
<h2 id="failed">Failed rules</h2>
${failed.length === 0 ? '<p>None.</p>' : failed.map((rule) => failedRuleSection(rule, scenarios)).join('\n')}
<h2>Rules</h2>
${ruleMatrix(report.rules)}
<h2>Client runs</h2>
${timelines(scenarios)}
</body></html>
`;
}

function ruleMatrix(rules: readonly RuleResult[]): string {
  const rows = rules.map(
    (rule) => `<tr id="rule-${rule.id}" data-status="${rule.status}">
<td><a href="${escapeHtml(rule.guide.url)}">${rule.id}</a></td><td>${rule.level}</td><td>${rule.side}</td><td class="${rule.status}">${escapeHtml(statusText(rule))}</td>
<td>the ${rule.side} ${escapeHtml(rule.statement)}<div class="says">${escapeHtml(rule.guide.section)}: “${escapeHtml(rule.guide.says)}”</div></td>
<td>${rule.scenarios.length}</td><td class="evidence">${rule.status === 'failed' ? `<a href="#failed-${rule.id}">${escapeHtml(rule.evidence)}</a>` : escapeHtml(rule.evidence)}</td></tr>`,
  );
  const widths = [13, 7, 6, 9, 34, 8, 23].map((percent) => `<col style="width:${percent}%">`).join('');
  return `<table id="rules"><colgroup>${widths}</colgroup><thead><tr><th>rule</th><th>level</th><th>side</th><th>status</th><th>statement, and the guide it restates</th><th>scenarios</th><th>evidence</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

/** At most this many findings of one rule are shown with their exchanges; the rest are counted. */
const SHOWN_FINDINGS = 12;

function failedRuleSection(rule: RuleResult, scenarios: readonly ScenarioResult[]): string {
  const clientRuns = clientRunsOf(scenarios);
  const findings = rule.findings ?? [];
  const shown = findings.slice(0, SHOWN_FINDINGS).map((finding) => findingBlock(finding, clientRuns, scenarios));
  if (findings.length > SHOWN_FINDINGS) shown.push(`<p>… and ${findings.length - SHOWN_FINDINGS} more finding(s), in conformance.json.</p>`);
  // A rule failed without findings (a server scenario's step threw): the exchanges its failed scenarios made.
  const probes =
    findings.length > 0
      ? []
      : scenarios.filter((scenario) => scenario.status === 'failed' && scenario.rules.includes(rule.id)).map((scenario) => probeBlock(scenario));
  return `<section id="failed-${rule.id}" class="failed-rule"><h3>${rule.id} <span class="level">${rule.level}, ${rule.side}${rule.expectedToFail ? ', known deviation' : ''}</span></h3>
<p>The ${rule.side} ${escapeHtml(rule.statement)}.</p>
<p class="says"><a href="${escapeHtml(rule.guide.url)}">${escapeHtml(rule.guide.section)}</a>: “${escapeHtml(rule.guide.says)}”</p>
${[...shown, ...probes].join('\n')}${rule.reproduction ? reproductionBlock(rule.reproduction) : ''}</section>`;
}

/** How to act on the failure: what the kit saw, the commands that rebuild it, the kit command that reruns it. */
function reproductionBlock(reproduction: Reproduction): string {
  const script = reproductionScript(reproduction);
  const observed =
    reproduction.observed.length > 0 ? `<h5>What the kit saw</h5><pre class="observed">${escapeHtml(reproduction.observed.join('\n'))}</pre>` : '';
  const commands = script
    ? `<h5>Reproduce it outside the kit${reproduction.side === 'client' ? ' (the standalone simulated server, its faults, the file, your client)' : ' (curl; set TOKEN first)'}</h5><pre class="commands">${escapeHtml(script)}</pre>`
    : '';
  return `<div class="reproduction">${observed}${commands}<h5>Rerun only this rule</h5><pre class="rerun">${escapeHtml(reproduction.rerun)}</pre></div>`;
}

/** One finding: where it was seen, what broke, and the exchanges it names. */
function findingBlock(finding: Finding, clientRuns: ReadonlyMap<string, ClientRunAttachment>, scenarios: readonly ScenarioResult[]): string {
  const run = clientRuns.get(finding.run);
  if (!run) return serverFindingBlock(finding, scenarios);
  const where = run ? `<a href="#run-${escapeHtml(run.runId)}">${escapeHtml(describeRun(finding.run, clientRuns))}</a>` : escapeHtml(finding.run);
  const named = new Set(finding.requests);
  const culprits = run?.exchanges.filter((exchange) => named.has(exchange.seq)) ?? [];
  const exchanges =
    culprits.length > 0
      ? culprits.map((exchange) => `<pre class="exchange culprit">${escapeHtml(clientExchangeText(exchange))}</pre>`).join('')
      : run
        ? `<p>No single request broke the rule; the <a href="#run-${escapeHtml(run.runId)}">run's timeline</a> shows the traffic.</p>`
        : '';
  return `<h4>${where}</h4><p class="evidence">${escapeHtml(finding.message)}</p>${exchanges}`;
}

/**
 * A server finding with the exchanges it names, each shown with what the kit expected of it: from the
 * scenario's exchanges, or, for a generated sequence, from the requests of its shrunk counterexample.
 */
function serverFindingBlock(finding: Finding, scenarios: readonly ScenarioResult[]): string {
  const scenario = scenarios.find((candidate) => candidate.name === finding.run);
  const named = new Set(finding.requests);
  const culprits = scenario
    ? scenario.evidence.serverExchanges
        .map((exchange, index) => ({ exchange, index }))
        .filter(({ index }) => named.has(index))
        .map(({ exchange, index }) => `<pre class="exchange culprit">exchange #${index} of the scenario\n${escapeHtml(serverExchangeText(exchange))}</pre>`)
    : (scenarios
        .flatMap((candidate) => candidate.evidence.serverReproductions)
        .find((attachment) => attachment.run === finding.run)
        ?.requests.map(
          (request) =>
            `<pre class="exchange${named.has(request.index) ? ' culprit' : ''}">${escapeHtml(`${request.method} ${request.url}\nexpected: ${request.expected}\n→ ${request.answered}`)}</pre>`,
        ) ?? []);
  return `<h4>${escapeHtml(finding.run)}</h4><p class="evidence">${escapeHtml(finding.message)}</p>${culprits.join('')}`;
}

/** At most this many of a failed scenario's last exchanges are shown when it has no finding to point at. */
const SHOWN_LAST_EXCHANGES = 8;

function probeBlock(scenario: ScenarioResult): string {
  const probes = scenario.evidence.serverExchanges;
  // The step that failed is the last one that talked to the server: its exchange is the culprit.
  const from = Math.max(0, probes.length - SHOWN_LAST_EXCHANGES);
  const exchanges = probes
    .slice(from)
    .map((exchange, index) => `<pre class="exchange${from + index === probes.length - 1 ? ' culprit' : ''}">${escapeHtml(serverExchangeText(exchange))}</pre>`)
    .join('');
  return `<h4>${escapeHtml(scenario.name)}</h4><p class="evidence">${escapeHtml(scenario.message)}</p>${exchanges}`;
}

function clientExchangeText(exchange: TimelineExchange): string {
  const headers = Object.entries(exchange.requestHeaders)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
  if (exchange.parserRefused) {
    // What arrived, as it arrived: the line breaks and control characters that made the parser refuse it, spelled out.
    const raw = exchange.parserRefused.head
      .split('\n')
      .map((line, index, lines) => JSON.stringify(index < lines.length - 1 ? `${line}\n` : line).slice(1, -1))
      .join('\n');
    return `request #${exchange.seq} at ${exchange.startMs} ms, refused by the server's HTTP parser: ${exchange.parserRefused.reason}\nthe head as received:\n${raw}\n\n→ HTTP ${exchange.status} at ${exchange.endMs} ms${Object.entries(
      exchange.responseHeaders ?? {},
    )
      .map(([name, value]) => `\n${name}: ${value}`)
      .join('')}\n\n${JSON.stringify(exchange.responseBody, null, 2)}`;
  }
  const body =
    exchange.requestBody.json !== undefined
      ? JSON.stringify(exchange.requestBody.json, null, 2)
      : `<${exchange.requestBody.length} bytes, SHA-1 ${exchange.requestBody.sha1}>`;
  const answer = exchange.dropped ? 'connection dropped by the server (injected fault)' : exchange.status === 0 ? 'no answer' : `HTTP ${exchange.status}`;
  // Header names as the server sent them: a client that looks up "Retry-After" by exact case sees why here.
  const responseHeaders = Object.entries(exchange.responseHeaders ?? {})
    .map(([name, value]) => `\n${name}: ${value}`)
    .join('');
  const response = exchange.responseBody === undefined ? '' : `\n\n${JSON.stringify(exchange.responseBody, null, 2)}`;
  return `request #${exchange.seq} at ${exchange.startMs} ms${exchange.fault ? ` (fault: ${exchange.fault})` : ''}\n${exchange.method} ${exchange.url}\n${headers}\n\n${body}\n\n→ ${answer} at ${exchange.endMs} ms${responseHeaders}${response}`;
}

function serverExchangeText(exchange: ServerExchangeAttachment): string {
  const answer = exchange.status === undefined ? `no answer: ${exchange.failure ?? ''}` : `HTTP ${exchange.status}${exchange.body ? `\n${exchange.body}` : ''}`;
  const label = exchange.label === undefined ? '' : ` [${exchange.label}]`;
  const expected = exchange.expected === undefined ? '' : `\nexpected: ${exchange.expected}`;
  return `${exchange.request}${label}${expected}\n→ ${answer}`;
}

function timelines(scenarios: readonly ScenarioResult[]): string {
  const runs = new Map<string, { run: ClientRunAttachment; scenarios: string[] }>();
  for (const scenario of scenarios) {
    for (const run of scenario.evidence.clientRuns) {
      const entry = runs.get(run.runId) ?? { run, scenarios: [] };
      entry.scenarios.push(scenario.name);
      runs.set(run.runId, entry);
    }
  }
  if (runs.size === 0) return '<p>No client runs in this report.</p>';
  const legend = `<p class="legend"><span><i style="background:#2ea44f"></i>stored</span><span><i style="background:#cf222e"></i>failed (error, dropped)</span><span><i style="background:#d4a72c"></i>429 / 202: wait and retry</span><span><i style="background:#0969da"></i>create, commit, other</span><span><i style="background:none;border:2px solid #1f2328"></i>a retry</span><span><i style="background:#8250df"></i>parts in flight</span></p>`;
  return legend + [...runs.values()].map(({ run, scenarios: names }) => timelineSection(run, names)).join('\n');
}

function colourOf(exchange: TimelineExchange): string {
  if (exchange.status === 429 || exchange.status === 202) return '#d4a72c';
  if (exchange.dropped || exchange.status === 0 || exchange.status >= 400) return '#cf222e';
  return exchange.op === 'part' ? '#2ea44f' : '#0969da';
}

/** One bar per request (part attempts ordered by offset, then attempt), and the in-flight count under them. */
function timelineSection(run: ClientRunAttachment, scenarioNames: string[]): string {
  const rows = [...run.exchanges].sort((a, b) => rowKey(a) - rowKey(b) || a.startMs - b.startMs);
  const end = Math.max(1, ...rows.map((exchange) => exchange.endMs));
  const labelWidth = 170;
  const width = 900;
  const rowHeight = 16;
  const chartHeight = 60;
  const answerRoom = 170;
  const scale = (ms: number) => labelWidth + (ms / end) * (width - labelWidth - answerRoom);
  const bars = rows.map((exchange, index) => {
    const y = 8 + index * rowHeight;
    const x = scale(exchange.startMs);
    const w = Math.max(2, scale(exchange.endMs) - x);
    const retry = (exchange.attempt ?? 1) > 1;
    const label =
      exchange.op === 'part'
        ? `part ${exchange.partNumber ?? `@${exchange.offset}`} · attempt ${exchange.attempt ?? '?'}`
        : `${exchange.method} ${exchange.op}`;
    const answer = exchange.dropped ? 'dropped' : exchange.status === 0 ? 'no answer' : `${exchange.status}${exchange.code ? ` ${exchange.code}` : ''}`;
    const title = `request #${exchange.seq}: ${label}, ${exchange.startMs}–${exchange.endMs} ms, ${answer}${exchange.fault ? ` (fault: ${exchange.fault})` : ''}`;
    return `<text x="4" y="${y + 11}">${escapeHtml(label)}</text><rect class="bar${retry ? ' retry' : ''}" data-seq="${exchange.seq}" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 4}" fill="${colourOf(exchange)}"${retry ? ' stroke="#1f2328" stroke-width="2"' : ''}><title>${escapeHtml(title)}</title></rect><text x="${(x + w + 4).toFixed(1)}" y="${y + 11}">${escapeHtml(answer)}${retry ? ' (retry)' : ''}</text>`;
  });
  const top = 8 + rows.length * rowHeight + 10;
  const { path, peak } = inFlightPath(run.exchanges, scale, top, chartHeight);
  const axis = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const x = scale(end * fraction);
    return `<line x1="${x}" x2="${x}" y1="4" y2="${top + chartHeight}" stroke="#d0d7de"/><text x="${x + 2}" y="${top + chartHeight + 14}">${Math.round(end * fraction)} ms</text>`;
  });
  const height = top + chartHeight + 22;
  const size = `${run.setup.fileSize} bytes in parts of ${run.setup.partSize}`;
  return `<section class="run" id="run-${run.runId}"><h3>${escapeHtml(size)}${run.setup.faults.length > 0 ? `; faults: ${escapeHtml(run.setup.faults.join('; '))}` : ''}</h3>
<p class="says">Judged by: ${escapeHtml(scenarioNames.join(' · '))}. Client ${run.exit.timedOut ? 'killed at the timeout' : `exited ${run.exit.code}`}. At most ${peak} parts in flight.</p>
<div class="timeline-wrap"><svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of ${rows.length} requests">
${axis.join('')}${bars.join('\n')}
<text x="4" y="${top + 12}">parts in flight</text><path class="in-flight" d="${path}" fill="none" stroke="#8250df" stroke-width="2"/><text x="4" y="${top + chartHeight}">peak ${peak}</text>
</svg></div></section>`;
}

const rowKey = (exchange: TimelineExchange) => (exchange.op === 'create' ? -1 : exchange.op === 'part' ? (exchange.offset ?? 0) : Number.MAX_SAFE_INTEGER);

function inFlightPath(exchanges: readonly TimelineExchange[], scale: (ms: number) => number, top: number, height: number): { path: string; peak: number } {
  const { steps, peak } = inFlight(exchanges.filter((exchange) => exchange.op === 'part'));
  const points: [number, number][] = [[0, 0]];
  let previous = 0;
  for (const step of steps) {
    points.push([step.at, previous], [step.at, step.count]);
    previous = step.count;
  }
  const y = (value: number) => top + height - (value / Math.max(peak, 1)) * (height - 16);
  return { path: points.map(([at, value], index) => `${index === 0 ? 'M' : 'L'}${scale(at).toFixed(1)},${y(value).toFixed(1)}`).join(''), peak };
}
