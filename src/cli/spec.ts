import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KIT_ROOT } from '../kit/conformance.ts';
import { type ProbeSpaceView, renderSpec, specInput } from '../kit/spec.ts';
import { SERVER_PROBE_SPACES } from '../probe/spaces.ts';
import { SERVER_RULE_IDS } from '../protocol/rules.ts';
import { parseCommandLine } from './args.ts';

const USAGE = `Usage: npm run spec

Writes the specification from the rule catalogue and the features, so it cannot drift from what the kit
runs: docs/spec.html (one self-contained page), docs/spec.md, and schema/rules.json (the catalogue as data).`;

/** The server probe spaces the page shows as tables (the staleness test renders with the same list). */
export function specProbeSpaces(): ProbeSpaceView[] {
  return SERVER_RULE_IDS.map((rule) => {
    const space = SERVER_PROBE_SPACES[rule];
    return {
      rule,
      dimensions: space.dimensions.map((dimension) => ({ name: dimension.name, values: [...dimension.values] })),
      cases: space.cases.map((probeCase) => ({ ...probeCase, values: { ...probeCase.values } })),
    };
  });
}

/** The files `npm run spec` writes, by path relative to the kit's root. */
export async function renderSpecFiles(): Promise<Record<string, string>> {
  return renderSpec(await specInput(KIT_ROOT, specProbeSpaces()));
}

async function main(): Promise<void> {
  const { values } = parseCommandLine('spec', { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  for (const [path, text] of Object.entries(await renderSpecFiles())) {
    await mkdir(dirname(join(KIT_ROOT, path)), { recursive: true });
    await writeFile(join(KIT_ROOT, path), text);
    process.stdout.write(`wrote ${path}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
