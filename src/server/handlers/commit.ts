import { setTimeout as sleep } from 'node:timers/promises';
import { parseDigest } from '../../protocol/digest.ts';
import { type UploadPart, checkCommitBody } from '../../protocol/shapes.ts';
import { type FileAttributes, commitAttributesOf } from '../items.ts';
import { type RequestContext, headerOf } from '../context.ts';
import { MAX_JSON_BYTES, fail, failStorage, readJsonBody, reply } from '../replies.ts';
import { wholeFileDigest } from '../running-digest.ts';
import { type Session, exclusively } from '../store.ts';
import { answerFault, dropConnection, fireFault } from './injected-faults.ts';
import { withSession } from './sessions.ts';

/** POST /files/upload_sessions/{id}/commit */
export const commitSession = withSession(async (ctx, session) => {
  const body = await readJsonBody(ctx, MAX_JSON_BYTES);
  if (!body) return;
  const digest = parseDigest(headerOf(ctx.req, 'digest'));
  if (!digest.ok) return fail(ctx, 400, 'bad_digest', digest.reason);
  const checked = checkCommitBody(body.value);
  if (!checked.ok) return fail(ctx, checked.status, checked.code, checked.message);
  const attributes = commitAttributesOf(body.value);
  if (!attributes.ok) return fail(ctx, attributes.status, attributes.code, attributes.message);
  session.commitAttempts += 1;
  const fault = fireFault(ctx, session.plan, { op: 'commit', attempt: session.commitAttempts });
  if (fault?.kind === 'delay') await sleep(fault.ms);
  else if (fault?.kind === 'drop') return dropConnection(ctx);
  // Box's parts_mismatch names a part of the commit it has not processed yet: the last one listed.
  else if (fault) return answerFault(ctx, fault, checked.value.at(-1));
  // One at a time with other commits and aborts of the session: exactly one of a racing commit and abort wins.
  await exclusively(session, async () => {
    if (session.state !== 'open') return fail(ctx, 404, 'not_found', `Upload session not found: it was ${session.state}`);
    await finishCommit(ctx, session, checked.value, digest.value, attributes.value);
  });
});

async function finishCommit(ctx: RequestContext, session: Session, listed: UploadPart[], expected: Buffer, attributes: FileAttributes): Promise<void> {
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
  let actual: Buffer;
  try {
    actual = await wholeFileDigest(session, paths, store);
  } catch (error) {
    // The session stays open with its parts listed: the client may retry, or abort.
    return failStorage(ctx, error, "read the session's parts");
  }
  if (!actual.equals(expected)) {
    return fail(ctx, 400, 'digest_mismatch', `File digest was incorrect. Actual: ${actual.toString('base64')} Expected: ${expected.toString('base64')}`);
  }
  const previous = session.fileId ? store.files.get(session.fileId) : undefined;
  const file = await store.addFile(session, paths, actual.toString('hex'), attributes);
  if (previous) await store.removeQuietly(previous.paths);
  session.committedFile = file;
  await store.endSession(session, 'committed');
  reply(ctx, 201, { total_count: 1, entries: [file.entry] });
}
