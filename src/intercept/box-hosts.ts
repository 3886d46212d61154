/**
 * Box's own hosts, as clients call them, and where their API sits on each. Clients that cannot be
 * pointed anywhere (rclone, scripts written from Box's guide) call these; --intercept answers them.
 */
import type { PublicHost } from '../server/state.ts';

export const BOX_HOSTS: Readonly<Record<string, PublicHost>> = {
  'upload.box.com': { origin: 'https://upload.box.com', apiPrefix: '/api/2.0' },
  'api.box.com': { origin: 'https://api.box.com', apiPrefix: '/2.0' },
};

/** What an intercepted client is told to use as UPLOAD_BASE_URL: Box's own upload API. */
export const BOX_UPLOAD_BASE_URL = 'https://upload.box.com/api/2.0';
