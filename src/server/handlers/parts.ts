import { setTimeout as sleep } from 'node:timers/promises';
import { parseContentRange, rangeSize } from '../../protocol/content-range.ts';
import { parseDigest } from '../../protocol/digest.ts';
import { partAt, partIndexAt } from '../../protocol/parts.ts';
import { receiveBody } from '../body.ts';
import { headerOf } from '../context.ts';
import { drainThenFail, fail, failStorage, markAborted, reply } from '../replies.ts';
import { hashStoredParts } from '../running-digest.ts';
import { isMissingPath } from '../storage-errors.ts';
import { randomHex } from '../store.ts';
import { persists } from '../faults.ts';
import { answerFault, dropConnection, fire, plannedFault } from './injected-faults.ts';
import { withSession } from './sessions.ts';

/** PUT /files/upload_sessions/{id}: one part, streamed to disk and hashed as it arrives. */
export const uploadPart = withSession(async (ctx, session) => {
  const { store } = ctx.state;
  const digest = parseDigest(headerOf(ctx.req, 'digest'));
  if (!digest.ok) return drainThenFail(ctx, 400, 'bad_digest', digest.reason);
  const parsed = parseContentRange(headerOf(ctx.req, 'content-range'));
  if (!parsed.ok) return drainThenFail(ctx, 400, 'invalid_content_range', parsed.reason);
  const range = parsed.value;
  const size = rangeSize(range);
  const notSatisfiable = (message: string) => drainThenFail(ctx, 416, 'requested_range_not_satisfiable', message);
  if (range.total !== session.fileSize) {
    return notSatisfiable(`Content-Range total ${range.total} differs from the session's file size ${session.fileSize}`);
  }
  const partIndex = partIndexAt(range.lo, session.fileSize, session.partSize);
  if (partIndex === undefined) return notSatisfiable(`Content-Range must start at a multiple of the part size ${session.partSize}`);
  const expectedSize = partAt(partIndex, session.fileSize, session.partSize).size;
  if (size !== expectedSize) return notSatisfiable(`The part at offset ${range.lo} must be ${expectedSize} bytes, Content-Range gives ${size}`);
  const partNumber = partIndex + 1;
  const attempt = (session.partAttempts.get(partNumber) ?? 0) + 1;
  session.partAttempts.set(partNumber, attempt);
  ctx.exchange.partNumber = partNumber;
  ctx.exchange.attempt = attempt;
  const overlapping = () => {
    const conflict = store.conflictingPart(session, { offset: range.lo, size });
    if (!conflict) return undefined;
    const { path: _path, ...conflictingPart } = conflict;
    return { conflicting_part: conflictingPart };
  };
  const conflictBefore = overlapping();
  if (conflictBefore) {
    return drainThenFail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', { context: conflictBefore });
  }
  const declaredLength = headerOf(ctx.req, 'content-length');
  if (declaredLength !== undefined && Number(declaredLength) !== size) {
    return drainThenFail(ctx, 400, 'invalid_request', `Content-Length ${declaredLength} differs from the Content-Range size ${size}`);
  }
  // A fault that persists the part fires only once the part is stored: a part refused for its own faults never counts.
  const planned = plannedFault(session.plan, { op: 'part', part: partNumber, attempt });
  const afterStoring = planned && persists(planned.action) ? planned : undefined;
  const fault = planned && !afterStoring ? fire(ctx, session.plan, planned) : undefined;
  if (fault?.kind === 'drop') {
    const body = await receiveBody(ctx.req, { maxBytes: size, stopAfter: fault.afterBytes ?? Math.floor(size / 2) });
    ctx.exchange.requestBody = { length: body.length, sha1: body.sha1.toString('hex') };
    return dropConnection(ctx);
  }
  if (store.storedPartCount() >= store.limits.maxParts) {
    return drainThenFail(
      ctx,
      507,
      'insufficient_storage',
      `The simulator holds ${store.limits.maxParts} parts across its open sessions, its limit (--max-parts); commit or abort a session`,
    );
  }
  const { path, sink } = store.openPartFile({ sparse: ctx.state.config.sparseParts });
  const body = await receiveBody(ctx.req, { maxBytes: size, sink });
  const storageError = body.error ?? (await store.closePartFile(sink));
  ctx.exchange.requestBody = { length: body.length, sha1: body.sha1.toString('hex') };
  const discard = () => store.removeQuietly([path]);
  if (storageError) {
    // The session is left as if the part never arrived; a storage directory removed under the server is made again.
    await discard();
    if (isMissingPath(storageError)) await store.init().catch(() => undefined);
    if (body.outcome !== 'complete') ctx.exchange.requestBody.truncated = true;
    return failStorage(ctx, storageError, 'store the part');
  }
  if (body.outcome === 'aborted') {
    await discard();
    return markAborted(ctx);
  }
  if (body.outcome === 'too-large') {
    ctx.exchange.requestBody.truncated = true;
    await discard();
    return fail(ctx, 400, 'invalid_request', `The body is longer than the Content-Range size ${size}`, { headers: { connection: 'close' } });
  }
  if (body.length !== size) {
    await discard();
    return fail(ctx, 400, 'invalid_request', `The body has ${body.length} bytes, Content-Range says ${size}`);
  }
  if (fault && fault.kind !== 'delay') {
    await discard();
    return answerFault(ctx, fault);
  }
  if (!body.sha1.equals(digest.value)) {
    await discard();
    return fail(ctx, 400, 'bad_digest', `Digest sha=${digest.value.toString('base64')} does not match the part's SHA-1 ${body.sha1.toString('base64')}`);
  }
  if (ctx.res.destroyed) {
    // Nobody is left to hear that the part is stored (the client left, or its connection broke on what
    // followed the body): keep nothing it was not told about.
    await discard();
    return markAborted(ctx);
  }
  const conflictAfter = overlapping();
  if (conflictAfter || session.state !== 'open') {
    await discard();
    if (conflictAfter) return fail(ctx, 416, 'range_overlaps_existing_part', 'Part overlaps with previously uploaded part', { context: conflictAfter });
    return fail(ctx, 404, 'not_found', 'Upload session not found');
  }
  const part = { part_id: randomHex(4), offset: range.lo, size, sha1: body.sha1.toString('hex') };
  session.parts.set(range.lo, { ...part, path });
  hashStoredParts(session);
  if (afterStoring) {
    const action = fire(ctx, session.plan, afterStoring);
    if (ctx.exchange.fault) ctx.exchange.fault.storedPart = part;
    return action.kind === 'drop' ? dropConnection(ctx) : answerFault(ctx, action);
  }
  if (fault?.kind === 'delay') await sleep(fault.ms);
  reply(ctx, 200, { part });
});

/** GET /files/upload_sessions/{id}/parts?offset=&limit= */
export const listParts = withSession((ctx, session) => {
  const number = (name: string, fallback: number) => {
    const raw = ctx.url.searchParams.get(name);
    if (raw === null) return fallback;
    return /^(0|[1-9][0-9]{0,8})$/.test(raw) ? Number(raw) : Number.NaN;
  };
  const offset = number('offset', 0);
  const limit = number('limit', 100);
  if (Number.isNaN(offset) || offset > 10_000) return fail(ctx, 400, 'bad_request', 'offset must be an integer from 0 to 10000');
  if (Number.isNaN(limit) || limit < 1 || limit > 1000) return fail(ctx, 400, 'bad_request', 'limit must be an integer from 1 to 1000');
  const all = [...session.parts.values()].sort((a, b) => a.offset - b.offset);
  const entries = all.slice(offset, offset + limit).map(({ path: _path, ...part }) => part);
  reply(ctx, 200, { entries, total_count: all.length, limit, offset, order: [{ by: 'offset', direction: 'ASC' }] });
});
