import type { InterceptVia } from '../intercept/evidence.ts';

/** What the kit's runner hands the step definitions (Cucumber world parameters: plain JSON). */
// A type alias, not an interface, so that it fits Cucumber's JSON object type.
export type KitWorldParameters = {
  client: { kind: 'reference' } | { kind: 'command'; command: string };
  timeoutMs: number;
  /** --intercept: the command calls Box's own hosts, answered by the kit, in a namespace of its own or through a proxy. */
  intercept: InterceptVia | null;
  /** --part-size: the part_size of every client run, in place of the one a scenario's Background names. */
  partSize: number | null;
  /** A token made up for this run; the embedded server accepts only it. */
  token: string;
  folderId: string;
  seed: string;
  workDir: string;
  /** Generated cases (the @generated scenarios): how many, and fast-check's seed. */
  generated: { runs: number; seed: number };
  /** --large: the @slow scenarios run, and generated cases also draw files at Box's own part sizes (8 and 32 MiB). */
  large: boolean;
};
