// Module hooks (see register.mjs): `.ts` files load as ES modules with their types stripped. Sucrase
// keeps every statement on its original line, so stack traces point at the source without a map.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'sucrase';

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const filePath = fileURLToPath(url);
  const { code } = transform(await readFile(filePath, 'utf8'), { transforms: ['typescript'], disableESTransforms: true, filePath });
  return { format: 'module', source: code, shortCircuit: true };
}
