// Loads TypeScript sources through ts-node's ESM hooks (transpile only; `npm run lint` type-checks).
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('ts-node/esm', pathToFileURL('./'));
