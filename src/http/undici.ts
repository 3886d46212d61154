// The part of undici the kit's HTTP clients use: Agent, request, the global dispatcher. undici's index
// also loads fetch, WebSocket, EventSource, the cache stores and the mocks, which took 55 ms of the
// uploader's 0.27 s start and 7 MB of its memory (the time to its first request, measured). These are
// the modules the index itself re-exports; undici is pinned to one version, and test/undici.test.ts
// checks that they are still undici's own.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const load = createRequire(import.meta.url);

export type { Dispatcher } from 'undici';
export const Agent = load('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const { getGlobalDispatcher } = load('undici/lib/global.js') as Pick<typeof Undici, 'getGlobalDispatcher'>;

/** undici's request API, a method of a dispatcher (the index installs it on Dispatcher.prototype). */
const dispatcherRequest = load('undici/lib/api/api-request.js') as (
  this: Undici.Dispatcher,
  options: Undici.Dispatcher.RequestOptions,
) => Promise<Undici.Dispatcher.ResponseData>;

/** undici's `request(url, options)`, for an absolute URL and an explicit dispatcher. */
export function request(
  url: string,
  options: Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Undici.Dispatcher },
): Promise<Undici.Dispatcher.ResponseData> {
  const { origin, pathname, search } = new URL(url);
  const { dispatcher, ...rest } = options;
  return dispatcherRequest.call(dispatcher, { ...rest, origin, path: `${pathname}${search}` });
}
