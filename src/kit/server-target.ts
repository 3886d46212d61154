import type { ServerTarget } from '../probe/probe.ts';

/**
 * The server the server features grade in this process. The runner sets it before Cucumber starts;
 * steps read it. (Cucumber world parameters are plain JSON, and a target holds a live transport.)
 */
let current: ServerTarget | undefined;

export function setServerTarget(target: ServerTarget | undefined): void {
  current = target;
}

export function serverTarget(): ServerTarget {
  if (!current) throw new Error('no server to grade: this run has no server target');
  return current;
}
