import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every process a client command starts, wherever it moves: a command's grandchild may call setsid, leave
 * the process group, be re-parented to init and hold the command's stdout open for as long as it lives.
 *
 * Three nets, used together:
 * - a cgroup v2 of the run's own, where the kit may create one (root, or a delegated subtree): the
 *   command joins it before it starts, every descendant is born in it and cannot leave; `cgroup.kill`
 *   (or freeze and kill) ends them all;
 * - a marker variable in the command's environment, which every descendant inherits;
 * - on Linux without a cgroup, the parent links in /proc, sampled while the command runs, so a
 *   descendant that cleared its environment is still known by its ancestry.
 * Without /proc (not Linux) only the process group is left, as before.
 */

/** The environment variable every process of one client run carries. */
export const RUN_MARKER = 'BOX_CONFORMANCE_RUN';

const PROC = '/proc';
const TRACK_INTERVAL_MS = 200;
const GONE_WAIT_MS = 3_000;

interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** Start time in clock ticks since boot: with the pid, an identity that survives pid reuse. */
  start: string;
  state: string;
}

const identity = (entry: ProcessEntry) => `${entry.pid}:${entry.start}`;
const isGone = (state: string) => state === 'Z' || state === 'X' || state === 'x';

async function readStat(pid: number): Promise<ProcessEntry | undefined> {
  try {
    const text = await readFile(`${PROC}/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
    // cstime priority nice threads itrealvalue starttime …"; comm may hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0] ?? '', ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** The processes of `pids` still alive (not gone, not zombies). */
async function aliveOf(pids: readonly number[]): Promise<ProcessEntry[]> {
  const entries = await Promise.all(pids.map((pid) => readStat(pid)));
  return entries.filter((entry): entry is ProcessEntry => entry !== undefined && !isGone(entry.state));
}

async function listProcesses(): Promise<ProcessEntry[]> {
  const names = await readdir(PROC).catch(() => [] as string[]);
  return aliveOf(names.filter((name) => /^\d+$/.test(name)).map(Number));
}

async function carriesMarker(pid: number, marker: string): Promise<boolean> {
  try {
    const environ = await readFile(`${PROC}/${pid}/environ`);
    return environ.includes(marker);
  } catch {
    return false;
  }
}

const procAvailable = access(`${PROC}/self/stat`).then(
  () => true,
  () => false,
);

/** The directory of a new cgroup v2 under the kit's own, if the kit may create one and move processes into it. */
async function createCgroup(name: string): Promise<string | undefined> {
  try {
    const own = (await readFile(`${PROC}/self/cgroup`, 'utf8')).split('\n').find((line) => line.startsWith('0::'));
    if (!own) return undefined;
    const mount = (await readFile(`${PROC}/self/mountinfo`, 'utf8'))
      .split('\n')
      .map((line) => line.split(' '))
      .find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup2')?.[4];
    if (!mount) return undefined;
    const dir = join(mount, own.slice(3), name);
    await mkdir(dir);
    try {
      // Moving a process needs write access to both ends; a directory we may create but not fill is no use.
      await access(join(dir, 'cgroup.procs'), 2);
      await access(join(mount, own.slice(3), 'cgroup.procs'), 2);
      return dir;
    } catch {
      await rmdir(dir).catch(() => undefined);
      return undefined;
    }
  } catch {
    return undefined;
  }
}

let treeCounter = 0;

export interface ContainedCommand {
  /** How the run is contained: its own cgroup, /proc tracking, or (not Linux) the process group alone. */
  readonly containment: 'cgroup' | 'proc' | 'process-group';
  /** Added to the command's environment. */
  readonly env: Record<string, string>;
  /** The argv that runs `command` through `sh -c` inside the containment. */
  argv(command: string): [string, string[]];
}

export interface ProcessTreeOptions {
  /** Leave cgroups out even where one could be created (for tests of the /proc net). */
  cgroup?: boolean;
}

/** One client run's processes. Create it, spawn `argv()` detached with `env`, then `attach(pid)`. */
export class ProcessTree implements ContainedCommand {
  readonly env: Record<string, string>;
  readonly #marker: string;
  readonly #cgroup: string | undefined;
  readonly #proc: boolean;
  #rootPid: number | undefined;
  /** Every descendant seen so far, by identity. */
  readonly #known = new Map<string, ProcessEntry>();
  /** Processes seen without the marker: their environment cannot change to carry it, so it is read once. */
  readonly #strangers = new Set<string>();
  #tracker: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  /** Set once a process of the run is known to have run in the cgroup. */
  #joined = false;

  private constructor(marker: string, cgroup: string | undefined, proc: boolean) {
    this.#marker = marker;
    this.#cgroup = cgroup;
    this.#proc = proc;
    this.env = { [RUN_MARKER]: marker.slice(RUN_MARKER.length + 1) };
  }

  static async create(options: ProcessTreeOptions = {}): Promise<ProcessTree> {
    const id = `${process.pid}-${++treeCounter}-${randomBytes(4).toString('hex')}`;
    const proc = await procAvailable;
    const cgroup = proc && options.cgroup !== false ? await createCgroup(`box-conformance-${id}`) : undefined;
    return new ProcessTree(`${RUN_MARKER}=${id}`, cgroup, proc);
  }

  get containment(): ContainedCommand['containment'] {
    return this.#cgroup ? 'cgroup' : this.#proc ? 'proc' : 'process-group';
  }

  argv(command: string): [string, string[]] {
    if (!this.#cgroup) return ['/bin/sh', ['-c', command]];
    // The shell moves itself into the cgroup before anything of the command runs, so nothing is born outside
    // it; should the move be refused, the command still runs, followed through /proc instead.
    return ['/bin/sh', ['-c', '{ echo $$ > "$1"; } 2>/dev/null; exec /bin/sh -c "$2"', 'sh', join(this.#cgroup, 'cgroup.procs'), command]];
  }

  /** Starts following the command's process (spawned detached: its own session and process group). */
  attach(pid: number): void {
    this.#rootPid = pid;
    if (!this.#proc) return;
    if (!this.#cgroup) {
      this.#tracker = setInterval(() => void this.#scan(), TRACK_INTERVAL_MS);
      this.#tracker.unref();
    }
  }

  /** Samples /proc once and remembers every descendant of a process already known. */
  #scan(): Promise<void> {
    this.#scanning ??= (async () => {
      try {
        await this.members();
      } finally {
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  /** The run's processes alive now. */
  async members(): Promise<ProcessEntry[]> {
    if (!this.#proc) return [];
    // Once the command has run in the cgroup, every process of the run was born in it: the cgroup alone is
    // read, not every process of the machine (hundreds, while a test suite runs, each a read of /proc).
    if (await this.#cgroupJoined()) return this.#cgroupMembers();
    const all = await listProcesses();
    const found = new Map<number, ProcessEntry>();
    const inCgroup = new Set(await this.#cgroupPids());
    const rootPid = this.#rootPid;
    for (const entry of all) {
      if (entry.pid === process.pid) continue;
      const key = identity(entry);
      const member =
        inCgroup.has(entry.pid) ||
        this.#known.has(key) ||
        (rootPid !== undefined && (entry.sid === rootPid || entry.pgid === rootPid)) ||
        (!this.#strangers.has(key) && (await carriesMarker(entry.pid, this.#marker)));
      if (member) found.set(entry.pid, entry);
      else this.#strangers.add(key);
    }
    // Descendants by ancestry: children of members, to any depth.
    let grew = true;
    while (grew) {
      grew = false;
      for (const entry of all) {
        if (!found.has(entry.pid) && found.has(entry.ppid) && entry.pid !== process.pid) {
          found.set(entry.pid, entry);
          grew = true;
        }
      }
    }
    for (const entry of found.values()) this.#known.set(identity(entry), entry);
    // Forget processes that are gone, so both sets stay as small as the process table.
    const alive = new Set(all.map(identity));
    for (const key of this.#known.keys()) if (!alive.has(key)) this.#known.delete(key);
    for (const key of this.#strangers) if (!alive.has(key) || this.#known.has(key)) this.#strangers.delete(key);
    return [...found.values()];
  }

  /**
   * Whether the command's shell moved itself into the cgroup (it runs the command only after trying): then
   * some CPU time was spent in it. Until then, and if the move was refused, the run is followed through /proc.
   */
  async #cgroupJoined(): Promise<boolean> {
    if (!this.#cgroup) return false;
    if (!this.#joined) {
      const stat = await readFile(join(this.#cgroup, 'cpu.stat'), 'utf8').catch(() => '');
      this.#joined = Number(/^usage_usec (\d+)$/m.exec(stat)?.[1] ?? 0) > 0;
    }
    return this.#joined;
  }

  async #cgroupMembers(): Promise<ProcessEntry[]> {
    return aliveOf((await this.#cgroupPids()).filter((pid) => pid !== process.pid));
  }

  async #cgroupPids(): Promise<number[]> {
    if (!this.#cgroup) return [];
    try {
      const text = await readFile(join(this.#cgroup, 'cgroup.procs'), 'utf8');
      return text.split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Sends `signal` to every process of the run. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    this.#signalGroup(signal);
    for (const entry of await this.members()) signalPid(entry.pid, signal);
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.#rootPid !== undefined) signalPid(-this.#rootPid, signal);
  }

  /**
   * Kills every process of the run and waits (up to a few seconds) until none is left. Processes are
   * stopped first, so none can fork while the rest are found. Resolves with how many were killed.
   */
  async killAll(): Promise<number> {
    clearInterval(this.#tracker);
    const killed = new Set((await this.members()).map(identity));
    this.#signalGroup('SIGKILL');
    if (this.#cgroup) await writeFile(join(this.#cgroup, 'cgroup.kill'), '1').catch(() => this.#freeze(true));
    const deadline = performance.now() + GONE_WAIT_MS;
    while (performance.now() < deadline) {
      let members = await this.members();
      if (members.length === 0) break;
      // Stop them all (repeat until no new ones turn up), then kill.
      const stopped = new Set<number>();
      while (members.some((entry) => !stopped.has(entry.pid))) {
        for (const entry of members) {
          if (!stopped.has(entry.pid)) signalPid(entry.pid, 'SIGSTOP');
          stopped.add(entry.pid);
        }
        members = await this.members();
      }
      for (const entry of members) {
        signalPid(entry.pid, 'SIGKILL');
        killed.add(identity(entry));
      }
      await sleep(10);
    }
    return killed.size;
  }

  async #freeze(frozen: boolean): Promise<void> {
    if (this.#cgroup) await writeFile(join(this.#cgroup, 'cgroup.freeze'), frozen ? '1' : '0').catch(() => undefined);
  }

  /** Removes the run's cgroup (after `killAll`). */
  async dispose(): Promise<void> {
    clearInterval(this.#tracker);
    if (!this.#cgroup) return;
    await this.#freeze(false);
    const deadline = performance.now() + GONE_WAIT_MS;
    while (performance.now() < deadline) {
      try {
        await rmdir(this.#cgroup);
        return;
      } catch {
        await sleep(20);
      }
    }
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
