#!/usr/bin/env node
// `npx box-upload-server [options]` in a project that installed the kit: the standalone simulated Box
// upload server, the same command as `npm run server -- [options]` in a clone.
import '../src/register.mjs';

await import('../src/cli/server.ts');
