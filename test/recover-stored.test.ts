import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ClientOutcome, ClientUnderTest, UploadJob } from '../src/adapters/client.ts';
import type { RunVerdict } from '../src/grader/client-checks.ts';
import { type RunContext, forgetSources, runClientOnce } from '../src/kit/client-run.ts';
import { contentRangeFor } from '../src/protocol/content-range.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';

// C-RECOVER-STORED and the rules around it (features/client/08-production-faults.feature explains the
// reasoning): scripted in-process clients meet a part stored although its answer was a 500, each
// recovering (or not) its own way, and the whole run is judged on every client rule.

const PART = 1024;
const FILE = 3 * PART - 100;

type Strategy =
  /** Lists the parts after the failure, before any resend, and commits the stored record (box-java-sdk PR #781). */
  | 'list-first'
  /** Resends, is refused as an overlap, then lists the parts and commits the stored record. */
  | 'list-after-refusal'
  /** Resends, is refused as an overlap, and commits the record the refusal names as the conflicting part. */
  | 'conflicting-part'
  /** Resends, is refused as an overlap, and commits a record it makes up for its own bytes. */
  | 'assume-stored'
  /** Resends until it gives up, then exits 1. */
  | 'give-up'
  /** Stops at the 500, exits 1. */
  | 'no-follow-up';

/** A sequential uploader over fetch, in-process, that handles a failed part as `strategy` says. */
function scriptedClient(strategy: Strategy): ClientUnderTest {
  return {
    name: strategy,
    upload: async (job: UploadJob): Promise<ClientOutcome> => {
      const started = performance.now();
      const exit = (exitCode: number): ClientOutcome => ({ exitCode, timedOut: false, stdout: '', stderr: '', durationMs: performance.now() - started });
      const auth = { authorization: `Bearer ${job.token}` };
      const bytes = await readFile(job.file);
      const created = await fetch(`${job.baseUrl}/files/upload_sessions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ folder_id: job.folderId, file_name: job.fileName, file_size: bytes.length }),
      });
      const session = (await created.json()) as { part_size: number; session_endpoints: Record<string, string> };
      const endpoints = session.session_endpoints;
      const put = (offset: number, body: Buffer) =>
        fetch(endpoints.upload_part ?? '', {
          method: 'PUT',
          headers: {
            ...auth,
            'content-type': 'application/octet-stream',
            'content-range': contentRangeFor(offset, body.length, bytes.length),
            digest: digestHeaderFor(sha1Of(body)),
          },
          body,
        }).then(
          async (res) => ({ status: res.status, json: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined }),
          () => ({ status: 0, json: undefined }),
        );
      const listed = async (offset: number) => {
        const res = await fetch(`${endpoints.list_parts}?limit=1000`, { headers: auth });
        return ((await res.json()) as { entries: { offset: number }[] }).entries.find((entry) => entry.offset === offset);
      };
      const records: unknown[] = [];
      for (let offset = 0; offset < bytes.length; offset += session.part_size) {
        const body = bytes.subarray(offset, offset + session.part_size);
        let answer = await put(offset, body);
        if (answer.status === 200) {
          records.push(answer.json?.part);
          continue;
        }
        if (strategy === 'no-follow-up') return exit(1);
        if (strategy === 'list-first') {
          records.push(await listed(offset));
          continue;
        }
        for (let attempt = 2; attempt <= 3 && answer.status !== 200; attempt++) answer = await put(offset, body);
        const conflicting = (answer.json?.context_info as { conflicting_part?: unknown } | undefined)?.conflicting_part;
        if (strategy === 'give-up') return exit(1);
        if (strategy === 'list-after-refusal') records.push(await listed(offset));
        if (strategy === 'conflicting-part') records.push(conflicting);
        if (strategy === 'assume-stored') records.push({ part_id: 'ASSUMED', offset, size: body.length, sha1: sha1Of(body).toString('hex') });
      }
      const committed = await fetch(endpoints.commit ?? '', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', digest: digestHeaderFor(sha1Of(bytes)) },
        body: JSON.stringify({ parts: records }),
      });
      return exit(committed.status === 201 ? 0 : 1);
    },
  };
}

let context: RunContext;
before(async () => {
  context = { workDir: await mkdtemp(join(tmpdir(), 'recover-')), token: 'recover-token', folderId: '0', timeoutMs: 20_000, seed: 'recover' };
});
after(async () => {
  forgetSources();
  await rm(context.workDir, { recursive: true, force: true });
});

async function judged(strategy: Strategy, storedParts: number[] = [2]) {
  const faults = storedParts.map((part) => ({ op: 'part' as const, part, attempt: 1, action: { kind: 'error' as const, status: 500, persist: true } }));
  const { judgement } = await runClientOnce(scriptedClient(strategy), { fileSize: FILE, partSize: PART, faults }, context);
  const having = (status: RunVerdict['status']) =>
    Object.entries(judgement.verdicts)
      .filter(([, verdict]) => verdict.status === status)
      .map(([id]) => id)
      .sort();
  return { verdicts: judgement.verdicts, failed: having('failed'), blocked: having('blocked') };
}

describe('a part stored although its answer was a 500: C-RECOVER-STORED and the rules around it', () => {
  for (const strategy of ['list-first', 'list-after-refusal', 'conflicting-part'] as const) {
    test(`a client that recovers (${strategy}) passes C-RECOVER-STORED and fails no rule`, async () => {
      const { verdicts, failed, blocked } = await judged(strategy);
      assert.deepEqual([failed, blocked], [[], []], JSON.stringify(verdicts));
      assert.equal(verdicts['C-RECOVER-STORED'].status, 'passed');
      assert.equal(verdicts['C-RETRY'].status, 'passed', 'listing the parts counts as acting on the failure');
      assert.equal(verdicts['C-COVERAGE'].status, 'passed');
      assert.equal(verdicts['C-COMMIT-PARTS'].status, 'passed');
      assert.equal(verdicts['C-SUCCESS-HONEST'].status, 'passed');
    });
  }

  test('a client that resends until it gives up fails C-RECOVER-STORED only; what it never showed is blocked by it', async () => {
    const { verdicts, failed, blocked } = await judged('give-up');
    assert.deepEqual(failed, ['C-RECOVER-STORED']);
    assert.ok(blocked.includes('C-COVERAGE') && blocked.includes('C-RETRY'), blocked.join());
    for (const id of blocked) assert.deepEqual((verdicts[id as keyof typeof verdicts] as { blockedBy: string[] }).blockedBy, ['C-RECOVER-STORED']);
    const [finding] = (verdicts['C-RECOVER-STORED'] as { findings: { message: string }[] }).findings;
    assert.match(
      finding?.message ?? '',
      /although the server stored it as .*resent it 2 time\(s\).*416 range_overlaps_existing_part.*never committed that record and exited 1/,
    );
  });

  test('a client that commits a record it made up for the refused range fails C-OVERLAP-NOT-PERSISTED, which blocks C-RECOVER-STORED', async () => {
    const { verdicts, failed } = await judged('assume-stored');
    assert.deepEqual(failed, ['C-OVERLAP-NOT-PERSISTED']);
    assert.deepEqual(verdicts['C-RECOVER-STORED'], {
      status: 'blocked',
      blockedBy: ['C-OVERLAP-NOT-PERSISTED'],
      reason: (verdicts['C-RECOVER-STORED'] as { reason: string }).reason,
    });
  });

  test('made-up records for two neighbouring refused ranges: still C-OVERLAP-NOT-PERSISTED alone (their holes merge into one)', async () => {
    const { failed } = await judged('assume-stored', [2, 3]);
    assert.deepEqual(failed, ['C-OVERLAP-NOT-PERSISTED']);
  });

  test('a client that never follows the failure up fails C-RETRY, which blocks C-RECOVER-STORED', async () => {
    const { verdicts, failed } = await judged('no-follow-up');
    assert.deepEqual(failed, ['C-RETRY']);
    assert.equal(verdicts['C-RECOVER-STORED'].status, 'blocked');
    assert.deepEqual((verdicts['C-RECOVER-STORED'] as { blockedBy: string[] }).blockedBy, ['C-RETRY']);
  });
});
