/**
 * Faults of the simulator's own storage (a removed directory, a full or read-only disk, no file
 * descriptors left) as answers: each costs the request that met it, never the process. Pure.
 */

export interface StorageFailure {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

const errnoOf = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** The answer to a storage error met while `doing` something (e.g. "store the part"). */
export function storageFailure(error: unknown, doing: string): StorageFailure {
  const errno = errnoOf(error) ?? 'EIO';
  const what = `The simulator could not ${doing}: ${errno}`;
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { status: 507, code: 'insufficient_storage', message: `${what} (its disk is full)` };
    case 'EMFILE':
    case 'ENFILE':
      return { status: 503, code: 'unavailable', message: `${what} (out of file descriptors); try again`, headers: { 'retry-after': '1' } };
    case 'EROFS':
      return { status: 500, code: 'internal_server_error', message: `${what} (its disk is read-only)` };
    case 'ENOENT':
      return { status: 500, code: 'internal_server_error', message: `${what} (a file or directory of its storage is missing)` };
    default:
      return { status: 500, code: 'internal_server_error', message: `${what} (${error instanceof Error ? error.message : String(error)})` };
  }
}

/** Whether the error says a directory of the storage itself is gone, so that the store should make it again. */
export const isMissingPath = (error: unknown): boolean => errnoOf(error) === 'ENOENT';
