import type { PartsPageRead } from './answers.ts';

/** Box's largest list-parts page. */
export const MAX_LIST_LIMIT = 1000;

export interface PagingOptions {
  /** Parts a page holds: the `limit` asked for, or the server's default page. */
  step: number;
  /** Parts the caller knows are there: pages are read until they are covered, whatever total_count says. */
  expected?: number;
  /** The most pages read past those `expected` parts need (default: no bound). */
  extraPages?: number;
}

/**
 * The pages of a session's parts, read by offset (`readPage(offset)`, undefined when the page could not
 * be read), until a page is empty or the parts expected and claimed (total_count) are covered.
 */
export async function* pagesOfParts(readPage: (offset: number) => Promise<PartsPageRead | undefined>, options: PagingOptions): AsyncGenerator<PartsPageRead> {
  const { step, expected = 0 } = options;
  const maxPages = options.extraPages === undefined ? Infinity : Math.ceil(expected / step) + options.extraPages;
  for (let offset = 0, pages = 0; pages < maxPages; offset += step, pages++) {
    const page = await readPage(offset);
    if (page === undefined) return;
    yield page;
    const claimed = typeof page.totalCount === 'number' ? page.totalCount : 0;
    if (page.entries.length === 0 || offset + step >= Math.max(expected, claimed)) return;
  }
}
