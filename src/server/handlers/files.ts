import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { RequestContext, RouteHandler } from '../context.ts';
import { drainThenFail, reply } from '../replies.ts';
import type { StoredFile } from '../store.ts';

/** Runs `handler` on the committed file the first capture group names, or answers 404. */
function withFile(handler: (ctx: RequestContext, file: StoredFile) => void | Promise<void>): RouteHandler {
  return async (ctx, [id = '']) => {
    const file = ctx.state.store.files.get(id);
    if (!file) return drainThenFail(ctx, 404, 'not_found', 'File not found');
    await handler(ctx, file);
  };
}

/** GET /files/{id} */
export const fileInfo = withFile((ctx, file) => reply(ctx, 200, file.entry));

/** DELETE /files/{id} */
export const deleteFile = withFile(async (ctx, file) => {
  await ctx.state.store.removeFile(file.entry.id);
  reply(ctx, 204);
});

/** GET /files/{id}/content: the parts' files, one after the other. */
export const fileContent = withFile(async (ctx, file) => {
  ctx.exchange.status = 200;
  ctx.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.entry.size), 'box-request-id': ctx.requestId });
  for (const path of file.paths) {
    for await (const chunk of createReadStream(path)) {
      if (!ctx.res.write(chunk)) await once(ctx.res, 'drain');
    }
  }
  ctx.res.end();
});
