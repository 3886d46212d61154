import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDigest } from '../../protocol/digest.ts';
import { type UploadPart, checkCommitBody } from '../../protocol/shapes.ts';
import { receiveJson } from '../body.ts';
import { type RequestContext, headerOf } from '../context.ts';
import { MAX_JSON_BYTES, fail, markAborted, reply } from '../replies.ts';
import type { Session } from '../store.ts';
import { answerFault, dropConnection, fireFault } from './injected-faults.ts';
import { withSession } from './sessions.ts';

/** POST /files/upload_sessions/{id}/commit */
export const commitSession = withSession(async (ctx, session) => {
  const body = await receiveJson(ctx.req, MAX_JSON_BYTES);
  ctx.exchange.requestBody = { length: body.length, sha1: body.sha1, json: body.value };
  if (body.outcome === 'aborted') return markAborted(ctx);
  if (body.outcome === 'too-large') return fail(ctx, 413, 'request_entity_too_large', 'Body too large', { headers: { connection: 'close' } });
  if (body.outcome === 'invalid') return fail(ctx, 400, 'bad_request', 'Body is not valid JSON');
  const digest = parseDigest(headerOf(ctx.req, 'digest'));
  if (!digest.ok) return fail(ctx, 400, 'bad_digest', digest.reason);
  const checked = checkCommitBody(body.value);
  if (!checked.ok) return fail(ctx, checked.status, checked.code, checked.message);
  session.commitAttempts += 1;
  const fault = fireFault(ctx, session.plan, { op: 'commit', attempt: session.commitAttempts });
  if (fault?.kind === 'delay') await sleep(fault.ms);
  else if (fault?.kind === 'drop') return dropConnection(ctx);
  // Box's parts_mismatch names a part of the commit it has not processed yet: the last one listed.
  else if (fault) return answerFault(ctx, fault, checked.value.at(-1));
  while (session.committing) await session.committing.catch(() => undefined);
  if (session.state !== 'open') return fail(ctx, 404, 'not_found', 'Upload session not found');
  const work = finishCommit(ctx, session, checked.value, digest.value);
  session.committing = work;
  try {
    await work;
  } finally {
    session.committing = undefined;
  }
});

async function finishCommit(ctx: RequestContext, session: Session, listed: UploadPart[], expected: Buffer): Promise<void> {
  const { store } = ctx.state;
  const problem = store.commitPartsProblem(session, listed);
  if (problem) return fail(ctx, 400, 'invalid_commit_parts', problem);
  const clash = store.fileNamed(session.folderId, session.fileName);
  if (clash && clash.entry.id !== session.fileId) {
    return fail(ctx, 409, 'item_name_in_use', 'Item with the same name already exists', {
      context: { conflicts: { type: 'file', id: clash.entry.id, name: clash.entry.name } },
    });
  }
  const paths = store.partPaths(listed, session);
  const actual = await store.digestOf(paths);
  if (!actual.equals(expected)) {
    return fail(ctx, 400, 'digest_mismatch', `File digest was incorrect. Actual: ${actual.toString('base64')} Expected: ${expected.toString('base64')}`);
  }
  const previous = session.fileId ? store.files.get(session.fileId) : undefined;
  const file = store.addFile(session, paths, actual.toString('hex'));
  if (previous) await Promise.all(previous.paths.map((path) => rm(path, { force: true })));
  session.state = 'committed';
  session.committedFile = file;
  await store.dropParts(session);
  reply(ctx, 201, { total_count: 1, entries: [file.entry] });
}
