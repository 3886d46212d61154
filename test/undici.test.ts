// The undici subset the kit's HTTP clients load (src/http/undici.ts): undici's own exports, working as
// undici's `request` does, without loading undici's index (fetch, WebSocket, caches, mocks).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as undici from 'undici';
import { Agent, getGlobalDispatcher, request } from '../src/http/undici.ts';
import { KIT_ROOT } from '../src/kit/conformance.ts';

describe('the undici subset', () => {
  test('is undici’s own Agent and global dispatcher', () => {
    assert.equal(Agent, undici.Agent);
    assert.equal(getGlobalDispatcher(), undici.getGlobalDispatcher());
  });

  test('request sends method, path, query, headers and body, and reads the answer, as undici.request does', async () => {
    const seen: { method?: string; url?: string; header?: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, header: req.headers['x-kit'] as string | undefined, body });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/2.0/files/upload_sessions?offset=2&limit=5`;
    const agent = new Agent();
    try {
      const options = { method: 'PUT' as const, headers: { 'x-kit': 'yes' }, body: 'part bytes', dispatcher: agent };
      const ours = await request(url, options);
      const theirs = await undici.request(url, options);
      for (const res of [ours, theirs]) {
        assert.equal(res.statusCode, 201);
        assert.deepEqual(await res.body.json(), { ok: true });
      }
      assert.equal(seen.length, 2);
      assert.deepEqual(seen[0], { method: 'PUT', url: '/api/2.0/files/upload_sessions?offset=2&limit=5', header: 'yes', body: 'part bytes' });
      assert.deepEqual(seen[0], seen[1]);
    } finally {
      await agent.close();
      server.close();
    }
  });

  test('loading the kit’s transport leaves undici’s index unloaded', async () => {
    const script = [
      "await import('./src/http/transport.ts');",
      "const { createRequire } = await import('node:module');",
      'const loaded = Object.keys(createRequire(import.meta.url).cache);',
      "console.log(JSON.stringify({ index: loaded.some((path) => path.endsWith('/undici/index.js')), agent: loaded.some((path) => path.endsWith('/undici/lib/dispatcher/agent.js')) }));",
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '--import', './src/register.mjs', '--input-type=module', '-e', script], {
      cwd: KIT_ROOT,
    });
    assert.deepEqual(JSON.parse(stdout), { index: false, agent: true });
  });
});
