import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { RequestContext, RouteHandler } from '../context.ts';
import { projectFields } from '../items.ts';
import { drainThenFail, failStorage, reply } from '../replies.ts';
import type { StoredFile } from '../store.ts';

/** Runs `handler` on the committed file the first capture group names, or answers 404. */
function withFile(handler: (ctx: RequestContext, file: StoredFile) => void | Promise<void>): RouteHandler {
  return async (ctx, [id = '']) => {
    const { store } = ctx.state;
    const file = store.files.get(id);
    if (file && Date.now() - file.storedAt > store.limits.fileTtlMs) await store.removeFile(id);
    if (!file || !store.files.has(id)) return drainThenFail(ctx, 404, 'not_found', 'File not found');
    await handler(ctx, file);
  };
}

/** GET /files/{id}, `fields` honoured */
export const fileInfo = withFile((ctx, file) => reply(ctx, 200, projectFields(file.entry, ctx.url.searchParams.get('fields'))));

/** DELETE /files/{id} */
export const deleteFile = withFile(async (ctx, file) => {
  await ctx.state.store.removeFile(file.entry.id);
  reply(ctx, 204);
});

/**
 * GET /files/{id}/content: the parts' files, one after the other. The part files are checked (and the
 * first opened) before the headers go out, so a missing one is a 5xx JSON answer; a read that still fails
 * midway ends the connection, so the client sees a short body fail rather than wait for the rest.
 */
export const fileContent = withFile(async (ctx, file) => {
  const problem = await ctx.state.store.contentProblem(file);
  if (problem) return failStorage(ctx, problem, `read file ${file.entry.id}'s content`);
  const [firstPath, ...otherPaths] = file.paths;
  let first;
  try {
    first = firstPath === undefined ? undefined : await open(firstPath);
  } catch (error) {
    return failStorage(ctx, error, `read file ${file.entry.id}'s content`);
  }
  ctx.exchange.status = 200;
  ctx.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.entry.size), 'box-request-id': ctx.requestId });
  try {
    if (first) await pipeline(first.createReadStream(), ctx.res, { end: false });
    for (const path of otherPaths) await pipeline(createReadStream(path), ctx.res, { end: false });
    ctx.res.end();
  } catch {
    ctx.res.destroy();
  } finally {
    await first?.close().catch(() => undefined);
  }
});
