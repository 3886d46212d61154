// Module hooks (see register.mjs): `.ts` files load as ES modules with their types stripped. Sucrase
// keeps every statement on its original line, so stack traces point at the source without a map.
// Each transform is kept in node_modules/.cache/ts-hooks, one entry per source file (so the cache holds
// as many entries as there are sources, however often they change), its first line the hash of
// Sucrase's version and the source it was made from. A later process reads it back instead of loading
// Sucrase and transforming again: about 0.15 s of every kit process's start (the uploader's start went
// from 0.40 s to 0.26 s).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE_DIR = fileURLToPath(new URL('../node_modules/.cache/ts-hooks/', import.meta.url));
const SUCRASE_VERSION = await readFile(join(dirname(createRequire(import.meta.url).resolve('sucrase')), '..', 'package.json'), 'utf8').then(
  (text) => JSON.parse(text).version,
  () => 'unknown',
);
let sucrase;

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const filePath = fileURLToPath(url);
  const source = await readFile(filePath, 'utf8');
  const stamp = `// ${createHash('sha1').update(`${SUCRASE_VERSION}\0${source}`).digest('hex')}\n`;
  const cached = join(CACHE_DIR, `${createHash('sha1').update(filePath).digest('hex')}.js`);
  const entry = await readFile(cached, 'utf8').catch(() => '');
  if (entry.startsWith(stamp)) return { format: 'module', source: entry.slice(stamp.length), shortCircuit: true };
  sucrase ??= await import('sucrase');
  const { code } = sucrase.transform(source, { transforms: ['typescript'], disableESTransforms: true, filePath });
  // Written aside and renamed into place, so a process starting alongside never reads half a file; a
  // cache that cannot be written (a read-only install) only costs the transform next time.
  const aside = `${cached}.${process.pid}.tmp`;
  await mkdir(CACHE_DIR, { recursive: true })
    .then(() => writeFile(aside, stamp + code))
    .then(() => rename(aside, cached))
    .catch(() => rm(aside, { force: true }).catch(() => undefined));
  return { format: 'module', source: code, shortCircuit: true };
}
