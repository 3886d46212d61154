import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KNOWN_CLIENTS } from '../src/cli/known-clients.ts';
import { namespaceUnavailable } from '../src/intercept/namespace.ts';
import { ROOT, runKit } from './support/kit.ts';

/** Why a Python SDK adapter cannot run on this machine, if it cannot: the Debian packages it needs. */
function missingPackages(modules: string[]): string | undefined {
  const missing = modules.filter((module) => spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status !== 0);
  return missing.length === 0
    ? undefined
    : `/usr/bin/python3 lacks ${missing.join(', ')} (Debian: apt-get install ${missing.map((module) => `python3-${module}`).join(' ')})`;
}

/**
 * Why the SDKs' sources cannot be found, if they cannot: the archive the adapters extract
 * (clients/box_python_sdk.py looks in the same two places). A clone without ../shared beside it has none.
 */
function missingArchive(): string | undefined {
  const archive = process.env.BOX_PYTHON_SDK_ARCHIVE || join(ROOT, '..', 'shared', 'sdks', 'box-python-sdk.tgz');
  return existsSync(archive) ? undefined : `the SDK archive ${archive} is missing (set BOX_PYTHON_SDK_ARCHIVE to box-python-sdk.tgz)`;
}

// What each SDK scores is a finding (npm run grade:known); these prove that each adapter runs its SDK, from the
// archive, against the kit, direct and through --intercept, on a short set of scenarios.
describe("Box's Python SDKs through their adapters", { concurrency: true }, () => {
  for (const client of KNOWN_CLIENTS.filter((known) => known.command.startsWith('/usr/bin/python3 '))) {
    const skip = missingPackages(client.id.includes('legacy') ? ['requests', 'attr'] : ['requests']) ?? missingArchive();
    test(`${client.name}: runs, opens the session as the rules say and sends every part's digest`, { skip }, async () => {
      const { code, report, stderr } = await runKit(['--client', client.command, ...(client.kitArgs ?? []), '--tags', '@C-CREATE or @C-DIGEST']);
      assert.notEqual(code, 2, `the kit could not run the client: ${stderr}`);
      for (const id of ['C-CREATE', 'C-DIGEST']) {
        const rule = report?.rules.find((candidate) => candidate.id === id);
        assert.equal(rule?.status, 'passed', `${id}: ${rule?.evidence ?? stderr}`);
      }
    });
  }
});

// boxsdk retries a dropped connection by the words of the exception ("Connection aborted", …). In its own network
// namespace it meets Box's hosts as it meets the kit direct, so every rule that judges a drop or a wait is the same.
describe('the legacy Python SDK, direct and on Box’s own hosts through --intercept', () => {
  const direct = KNOWN_CLIENTS.find((client) => client.id === 'box-python-sdk-legacy');
  const intercepted = KNOWN_CLIENTS.find((client) => client.id === 'box-python-sdk-legacy-box-hosts');
  const skip = missingPackages(['requests', 'attr']) ?? missingArchive() ?? namespaceUnavailable();
  test('the same status on every rule about drops and waits, C-RETRY passed', { skip }, async () => {
    const tags = ['--tags', '@C-RETRY or @C-RATE-LIMIT or @C-COMMIT-RETRY-AFTER'];
    const runs = await Promise.all([direct, intercepted].map((client) => runKit(['--client', client?.command ?? '', ...(client?.kitArgs ?? []), ...tags])));
    const statuses = runs.map(({ report, stderr }) => {
      assert.ok(report, stderr);
      return Object.fromEntries(report.rules.filter((rule) => rule.status !== 'skipped').map((rule) => [rule.id, rule.status]));
    });
    assert.equal(statuses[0]?.['C-RETRY'], 'passed');
    assert.deepEqual(statuses[1], statuses[0]);
  });
});
