import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { type SimulatedServer, startSimulatedServer } from '../src/server/app.ts';
import { type HashedSession, hashStoredParts, wholeFileDigest } from '../src/server/running-digest.ts';
import type { StoredPart } from '../src/server/store.ts';

const PART = 1000;
const bytesOf = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));

describe('the whole-file digest runs as parts are stored', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'running-digest-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A session of `sizes` parts, none stored yet; `store(i)` writes part i's file and stores it. */
  async function sessionOf(sizes: number[], name: string) {
    const fileSize = sizes.reduce((a, b) => a + b, 0);
    const session: HashedSession = { parts: new Map<number, StoredPart>(), fileSize, state: 'open' };
    const contents = sizes.map((size, i) => bytesOf(size, i + 1));
    const paths = sizes.map((_, i) => join(dir, `${name}-${i}`));
    const store = async (i: number) => {
      await writeFile(paths[i] ?? '', contents[i] ?? Buffer.alloc(0));
      const offset = sizes.slice(0, i).reduce((a, b) => a + b, 0);
      session.parts.set(offset, { part_id: `P${i}`, offset, size: sizes[i] ?? 0, sha1: sha1Of(contents[i] ?? '').toString('hex'), path: paths[i] ?? '' });
      hashStoredParts(session);
    };
    const rereads: string[][] = [];
    const fullPass = {
      digestOf: async (listed: readonly string[]) => {
        rereads.push([...listed]);
        return sha1Of(Buffer.concat(contents));
      },
    };
    return { session, store, paths, whole: sha1Of(Buffer.concat(contents)), rereads, fullPass };
  }

  test('parts stored out of order: the commit gets the whole-file SHA-1 without a second full pass', async () => {
    const { session, store, paths, whole, rereads, fullPass } = await sessionOf([PART, PART, PART, 10], 'shuffled');
    for (const i of [2, 0, 3, 1]) await store(i);
    assert.deepEqual(await wholeFileDigest(session, paths, fullPass), whole);
    assert.deepEqual(rereads, [], 'the commit read every part again');
    // A refused commit (the client's digest was wrong) leaves the running digest usable for the next.
    assert.deepEqual(await wholeFileDigest(session, paths, fullPass), whole);
    assert.deepEqual(rereads, []);
  });

  test('a commit listing other parts than those hashed reads the listed ones', async () => {
    const { session, store, paths, rereads, fullPass } = await sessionOf([PART, PART], 'other-list');
    await store(0);
    await store(1);
    const listed = [paths[0] ?? '', join(dir, 'not-a-stored-part')];
    await wholeFileDigest(session, listed, fullPass);
    assert.deepEqual(rereads, [listed]);
  });

  test('a part file gone or cut after it was hashed makes the commit read every part (and find what is wrong)', async () => {
    const { session, store, paths, rereads, fullPass } = await sessionOf([PART, PART], 'gone');
    await store(0);
    await store(1);
    await wholeFileDigest(session, paths, fullPass);
    assert.deepEqual(rereads, []);
    await truncate(paths[1] ?? '', PART - 1);
    await wholeFileDigest(session, paths, fullPass);
    await rm(paths[0] ?? '');
    await wholeFileDigest(session, paths, fullPass);
    assert.deepEqual(rereads, [paths, paths]);
  });

  test('a part that could not be read back whole makes every later commit read every part', async () => {
    const { session, store, paths, whole, rereads, fullPass } = await sessionOf([PART, PART, PART], 'broken');
    await store(1);
    const written = await readFile(paths[1] ?? '');
    await truncate(paths[1] ?? '', PART - 1);
    await store(0);
    assert.deepEqual(await wholeFileDigest(session, paths, fullPass), whole);
    // Part 2 is whole again, and part 3 comes: the bytes already hashed of the short read still spoil the running hash.
    await writeFile(paths[1] ?? '', written);
    await store(2);
    assert.deepEqual(await wholeFileDigest(session, paths, fullPass), whole);
    assert.deepEqual(rereads, [paths, paths]);
  });
});

describe('the simulated server commits with the running digest', () => {
  let server: SimulatedServer;
  const auth = { authorization: 'Bearer t' };
  before(async () => {
    server = await startSimulatedServer({ token: 't', partSize: PART, minFileSize: 1 });
  });
  after(() => server.close());

  test('parts out of order and a refused part at the head: commit with the right digest, refuse a wrong one', async () => {
    const parts = [bytesOf(PART, 1), bytesOf(PART, 2), bytesOf(PART, 3), bytesOf(500, 4)];
    const file = Buffer.concat(parts);
    const created = await fetch(`${server.baseUrl}/files/upload_sessions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_name: 'running.bin', file_size: file.length }),
    });
    const session = (await created.json()) as { session_endpoints: { upload_part: string; commit: string } };
    const put = (i: number, digest = digestHeaderFor(sha1Of(parts[i] ?? ''))) =>
      fetch(session.session_endpoints.upload_part, {
        method: 'PUT',
        headers: { ...auth, digest, 'content-range': `bytes ${i * PART}-${i * PART + (parts[i]?.length ?? 0) - 1}/${file.length}` },
        body: parts[i],
      });
    const records: unknown[] = [];
    for (const i of [3, 1]) records.push(((await (await put(i)).json()) as { part: unknown }).part);
    // Part 1 refused once (its Digest names other bytes): the running digest must not have taken its bytes.
    assert.equal((await put(0, digestHeaderFor(sha1Of('other')))).status, 400);
    for (const i of [0, 2]) records.push(((await (await put(i)).json()) as { part: unknown }).part);
    const commit = (digest: Buffer) =>
      fetch(session.session_endpoints.commit, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', digest: digestHeaderFor(digest) },
        body: JSON.stringify({ parts: records }),
      });
    const refused = await commit(sha1Of('not the file'));
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { code: string }).code, 'digest_mismatch');
    const committed = await commit(sha1Of(file));
    assert.equal(committed.status, 201);
    const entry = ((await committed.json()) as { entries: { sha1: string }[] }).entries[0];
    assert.equal(entry?.sha1, sha1Of(file).toString('hex'));
  });
});
