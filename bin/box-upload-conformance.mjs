#!/usr/bin/env node
// `npx box-upload-conformance [options]` in a project that installed the kit: the same command as
// `npm run conformance -- [options]` in a clone. Every option passes through unchanged.
import '../src/register.mjs';

await import('../src/cli/conformance.ts');
