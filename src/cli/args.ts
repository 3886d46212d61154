import { basename } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** How the command was started: `npx box-upload-<name>` from an installed kit (bin/), `npm run <name> --` in a clone. */
export function invocation(command: string): string {
  const bin = basename(process.argv[1] ?? '', '.mjs');
  return bin.startsWith('box-upload-') ? `npx ${bin}` : `npm run ${command} --`;
}

/** One line naming the problem and where the options are listed, then exit 2 (the contract's usage error). */
export function usageError(command: string, message: string): never {
  process.stderr.write(`${command}: ${message}. Run "${invocation(command)} --help" for the options.\n`);
  process.exit(2);
}

/** Strict option parsing for the kit's commands: an unknown or malformed option is a usage error. */
export function parseCommandLine<T extends Options>(command: string, options: T, allowPositionals = false) {
  try {
    return parseArgs({ options, strict: true, allowPositionals });
  } catch (error) {
    const first = error instanceof Error ? (error.message.split('\n')[0] ?? '') : '';
    usageError(command, first.replace(/\.$/, '') || 'bad option');
  }
}

/** A whole number of at least `min`, or a usage error naming the option. */
export function integerOption(command: string, name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < min) usageError(command, `--${name} takes a whole number of at least ${min}, got "${value}"`);
  return number;
}
