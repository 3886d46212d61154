// The kit as users get it: `npm pack`, and installs of the tarball (or of the packed files) that never
// reach a registry: packages come from the local npm cache, which `npm ci` filled from the lock file.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, join, relative } from 'node:path';
import { ROOT } from './kit.ts';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, output captured. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// npm's own settings are kept (cache, user config, CA file, registry); everything `npm test` exported about
// this repository (npm_config_local_prefix, npm_package_*, its node_modules/.bin on PATH) is dropped, so
// that npm in a temporary project works on that project only.
const KEPT_NPM_SETTINGS = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile', 'npm_config_registry']);

/** The environment of a user's shell outside this repository, with npm forbidden to use the network. */
export function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.toLowerCase().startsWith('npm_') || KEPT_NPM_SETTINGS.has(key.toLowerCase())) env[key] = value;
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => relative(ROOT, entry).startsWith('..'))
    .join(delimiter);
  return { ...env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

/** `npm pack` of this repository into `dir`; the tarball's path. */
export async function packKit(dir: string): Promise<string> {
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: offlineEnv() });
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const [entry] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!entry) throw new Error('npm pack said nothing');
  return join(dir, entry.filename);
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * Writes package.json and package-lock.json of a project whose only dev dependency is the kit's tarball
 * (`tarball`, relative to `dir`). Its tree is the kit's own lock file minus the kit's dev dependencies,
 * hoisted the same way; that is what `npm install --save-dev <kit>` resolves, and a lock lets npm install
 * offline from tarballs alone (`npm ci` caches tarballs, not the registry's package documents).
 */
export async function writeProjectDependingOnKit(dir: string, tarball: string): Promise<void> {
  const kitLock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const kit = kitLock.packages[''];
  if (!kit || typeof kit.name !== 'string') throw new Error('package-lock.json has no root package');
  const project = { name: 'an-sdk', version: '1.0.0', private: true, devDependencies: { [kit.name]: `file:${tarball}` } };
  const packages: Record<string, LockEntry> = {
    '': { name: project.name, version: project.version, devDependencies: project.devDependencies },
    [`node_modules/${kit.name}`]: {
      version: kit.version,
      resolved: `file:${tarball}`,
      dev: true,
      dependencies: kit.dependencies,
      bin: kit.bin,
      engines: kit.engines,
    },
  };
  for (const [path, entry] of Object.entries(kitLock.packages)) if (path !== '' && !entry.dev) packages[path] = { ...entry, dev: true };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(project, null, 2)}\n`);
  await writeFile(
    join(dir, 'package-lock.json'),
    `${JSON.stringify({ name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
}
