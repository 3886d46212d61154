import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BOX_HOSTS } from '../src/intercept/box-hosts.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';
import type { PublicHost } from '../src/server/state.ts';

const TOKEN = 'api-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const PART = 1024;
let server: SimulatedServer;

before(async () => {
  server = await startSimulatedServer({ token: TOKEN, partSize: PART, minFileSize: 1 });
});
after(() => server.close());

type Entry = Record<string, unknown> & { id: string; name: string };

/** A whole chunked upload with fetch: create (or a new version of `fileId`), every part, commit with `attributes`. */
async function upload(options: { name: string; folderId?: string; bytes: Buffer; attributes?: unknown; fileId?: string; base?: string }): Promise<Response> {
  const base = options.base ?? server.baseUrl;
  const created = await fetch(options.fileId ? `${base}/files/${options.fileId}/upload_sessions` : `${base}/files/upload_sessions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(
      options.fileId ? { file_size: options.bytes.length } : { folder_id: options.folderId ?? '0', file_name: options.name, file_size: options.bytes.length },
    ),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const session = (await created.json()) as { session_endpoints: { upload_part: string; commit: string } };
  const parts: unknown[] = [];
  for (let offset = 0; offset < options.bytes.length; offset += PART) {
    const body = options.bytes.subarray(offset, offset + PART);
    const answer = await fetch(session.session_endpoints.upload_part, {
      method: 'PUT',
      headers: {
        ...auth,
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${offset}-${offset + body.length - 1}/${options.bytes.length}`,
        digest: digestHeaderFor(sha1Of(body)),
      },
      body,
    });
    assert.equal(answer.status, 200);
    parts.push(((await answer.json()) as { part: unknown }).part);
  }
  return fetch(session.session_endpoints.commit, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', digest: digestHeaderFor(sha1Of(options.bytes)) },
    body: JSON.stringify({ parts, ...(options.attributes === undefined ? {} : { attributes: options.attributes }) }),
  });
}

async function committed(response: Response): Promise<Entry> {
  assert.equal(response.status, 201);
  const body = (await response.json()) as { total_count: number; entries: Entry[] };
  assert.equal(body.total_count, 1);
  return body.entries[0] as Entry;
}

const json = async (url: string, init: RequestInit = {}) => {
  const response = await fetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the file entry a commit answers, and GET /files/{id}', () => {
  test('carries sha1, size, etag, and content_modified_at / content_created_at as the commit sent them', async () => {
    const bytes = Buffer.alloc(2500, 3);
    const attributes = { content_modified_at: '2024-02-03T04:05:06-08:00', content_created_at: '2023-01-02T03:04:05Z' };
    const entry = await committed(await upload({ name: 'entry.bin', bytes, attributes }));
    assert.equal(entry.type, 'file');
    assert.equal(entry.sha1, sha1Of(bytes).toString('hex'));
    assert.equal(entry.size, 2500);
    assert.equal(typeof entry.etag, 'string');
    assert.equal(entry.content_modified_at, attributes.content_modified_at);
    assert.equal(entry.content_created_at, attributes.content_created_at);
    assert.equal(entry.item_status, 'active');
    assert.deepEqual((entry.parent as { id: string }).id, '0');
    const got = await json(`${server.baseUrl}/files/${entry.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, entry);
  });

  test('`fields` gives the mini representation plus the fields asked for', async () => {
    const entry = await committed(await upload({ name: 'fields.bin', bytes: Buffer.alloc(10, 1) }));
    const got = await json(`${server.baseUrl}/files/${entry.id}?fields=size,content_modified_at`);
    assert.deepEqual(Object.keys(got.body).sort(), ['content_modified_at', 'etag', 'file_version', 'id', 'name', 'sequence_id', 'sha1', 'size', 'type']);
  });

  test('attributes that are not date-times are refused with 400 and no file is made', async () => {
    const response = await upload({ name: 'bad-attributes.bin', bytes: Buffer.alloc(10, 2), attributes: { content_modified_at: 'yesterday' } });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { code: string }).code, 'bad_request');
    const listed = await json(`${server.baseUrl}/folders/0/items?limit=1000`);
    assert.ok(!(listed.body.entries as Entry[]).some((item) => item.name === 'bad-attributes.bin'));
  });

  test('a new version (POST /files/{id}/upload_sessions) keeps the id, and the entry follows the new content', async () => {
    const first = await committed(await upload({ name: 'versioned.bin', folderId: '55', bytes: Buffer.alloc(1500, 4) }));
    const bytes = Buffer.alloc(3000, 5);
    const second = await committed(
      await upload({ name: 'versioned.bin', bytes, fileId: first.id, attributes: { content_modified_at: '2025-05-05T05:05:05Z' } }),
    );
    assert.equal(second.id, first.id);
    assert.notEqual(second.etag, first.etag);
    assert.deepEqual([second.size, second.sha1, second.content_modified_at], [3000, sha1Of(bytes).toString('hex'), '2025-05-05T05:05:05Z']);
    const listed = await json(`${server.baseUrl}/folders/55/items`);
    assert.equal(listed.body.total_count, 1);
  });
});

describe("GET /folders/{id}/items: the folder's committed files", () => {
  const folder = '4242';
  const names = ['e.bin', 'a.bin', 'd.bin', 'b.bin', 'c.bin'];
  before(async () => {
    for (const name of names) await committed(await upload({ name, folderId: folder, bytes: Buffer.from(name) }));
  });

  test('offset paging: total_count, offset and limit, in name order', async () => {
    const first = await json(`${server.baseUrl}/folders/${folder}/items?limit=2`);
    assert.equal(first.status, 200);
    assert.deepEqual([first.body.total_count, first.body.offset, first.body.limit], [5, 0, 2]);
    assert.deepEqual(
      (first.body.entries as Entry[]).map((entry) => entry.name),
      ['a.bin', 'b.bin'],
    );
    const last = await json(`${server.baseUrl}/folders/${folder}/items?limit=2&offset=4`);
    assert.deepEqual(
      (last.body.entries as Entry[]).map((entry) => entry.name),
      ['e.bin'],
    );
  });

  test('marker paging: next_marker until null, every file once', async () => {
    const seen: string[] = [];
    let marker: string | null = '';
    for (let page = 0; marker !== null && page < 10; page++) {
      const got = await json(`${server.baseUrl}/folders/${folder}/items?usemarker=true&limit=2${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.total_count, undefined);
      seen.push(...(got.body.entries as Entry[]).map((entry) => entry.name));
      marker = got.body.next_marker as string | null;
    }
    assert.deepEqual(seen, ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin']);
  });

  test('`fields` is honoured on every entry', async () => {
    const got = await json(`${server.baseUrl}/folders/${folder}/items?fields=size,item_status`);
    for (const entry of got.body.entries as Entry[]) {
      assert.deepEqual(Object.keys(entry).sort(), ['etag', 'file_version', 'id', 'item_status', 'name', 'sequence_id', 'sha1', 'size', 'type']);
    }
  });

  test('an empty folder, and bad paging parameters answered 400 in Box error JSON', async () => {
    assert.deepEqual((await json(`${server.baseUrl}/folders/999/items`)).body.total_count, 0);
    for (const query of ['limit=0', 'limit=1001', 'offset=10001', 'offset=-1', 'usemarker=true&marker=not-a-marker']) {
      const got = await json(`${server.baseUrl}/folders/${folder}/items?${query}`);
      assert.equal(got.status, 400, query);
      assert.equal(got.body.type, 'error', query);
    }
  });

  test('needs the token, as every API endpoint', async () => {
    assert.equal((await fetch(`${server.baseUrl}/folders/${folder}/items`)).status, 401);
  });
});

describe('the preflight check and the single-request upload', () => {
  test('OPTIONS /files/content: 200 for a free name, 409 item_name_in_use naming the file that has it', async () => {
    const entry = await committed(await upload({ name: 'taken.bin', folderId: '31', bytes: Buffer.alloc(5) }));
    const check = (name: string) =>
      json(`${server.baseUrl}/files/content/`, {
        method: 'OPTIONS',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, parent: { id: '31' }, size: 5 }),
      });
    assert.equal((await check('free.bin')).status, 200);
    const taken = await check('taken.bin');
    assert.equal(taken.status, 409);
    assert.equal(taken.body.code, 'item_name_in_use');
    assert.deepEqual(((taken.body.context_info as { conflicts: Entry }).conflicts as Entry).id, entry.id);
    const bad = await json(`${server.baseUrl}/files/content`, { method: 'OPTIONS', body: JSON.stringify({ name: 'x/y', parent: { id: '31' } }) });
    assert.equal(bad.status, 400);
  });

  test('POST /files/content is refused by name: uploads go through upload sessions', async () => {
    const got = await json(`${server.baseUrl}/files/content`, { method: 'POST', body: 'irrelevant' });
    assert.equal(got.status, 404);
    assert.match(got.body.message as string, /upload sessions only/);
  });
});

describe('connections handed over as made to Box hosts (--intercept)', () => {
  /** A loopback port whose every connection the simulated server serves as `host`. */
  async function relayAs(host: PublicHost): Promise<{ url: string; close: () => void }> {
    const relay = createTcpServer((socket) => server.acceptConnection(socket, host));
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    return { url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`, close: () => relay.close() };
  }

  test("upload.box.com: the API under /api/2.0, and session endpoints on Box's host", async () => {
    const relay = await relayAs(BOX_HOSTS['upload.box.com'] as PublicHost);
    try {
      const created = await json(`${relay.url}/api/2.0/files/upload_sessions`, {
        method: 'POST',
        body: JSON.stringify({ folder_id: '0', file_name: 'via-upload-host.bin', file_size: 10 }),
      });
      assert.equal(created.status, 201);
      const endpoints = created.body.session_endpoints as Record<string, string>;
      assert.match(endpoints.upload_part ?? '', /^https:\/\/upload\.box\.com\/api\/2\.0\/files\/upload_sessions\/[0-9A-F]{32}$/);
      assert.match(endpoints.commit ?? '', /^https:\/\/upload\.box\.com\/api\/2\.0\/files\/upload_sessions\/[0-9A-F]{32}\/commit$/);
    } finally {
      relay.close();
    }
  });

  test('api.box.com: the API under /2.0, and nothing else (no control API, no /api/2.0)', async () => {
    const relay = await relayAs(BOX_HOSTS['api.box.com'] as PublicHost);
    try {
      assert.equal((await json(`${relay.url}/2.0/folders/0/items`)).status, 200);
      for (const path of ['/_control/traffic', '/api/2.0/folders/0/items', '/']) {
        const got = await json(`${relay.url}${path}`);
        assert.equal(got.status, 404, path);
        assert.equal(got.body.type, 'error', path);
      }
    } finally {
      relay.close();
    }
  });
});
