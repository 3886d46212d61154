import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { UploadError } from '../errors.ts';
import { uploadFile } from '../uploader/index.ts';
import { integerOption, parseCommandLine, usageError } from './args.ts';

const USAGE = `Usage: npm run upload -- <file> --base-url <url> --folder <id> [options]

Uploads one file with the kit's reference uploader (chunked upload session, parts in parallel, retries,
commit with the whole-file digest), showing progress on stderr. Prints the committed file's JSON.

  --base-url <url>       API base, e.g. http://127.0.0.1:8080/api/2.0 (from "npm run server")
  --token <t>            bearer token (or the BOX_TOKEN environment variable); never printed
  --folder <id>          folder to upload into (default 0)
  --name <name>          file name in the folder (default: the file's own name)
  --concurrency <n>      parts in flight, 3 to 5 (default 4)
  --hold-parts           read each part once into memory and send it from there (concurrency x part
                         size more memory), instead of reading it again as it is sent; for sources
                         where a second read is costly, such as a network filesystem
  --quiet                no progress bar
  --help                 this text

Exit codes: 0 uploaded; 1 the upload failed (the session was aborted); 2 usage error.`;

const COMMAND = 'upload';

// undici parses responses with llhttp compiled to WebAssembly; V8's optimising compile of it, in the
// background after the first request, briefly takes about 30 MB, a third of the uploader's whole
// footprint. The baseline compiler parses the few small JSON answers of an upload just as well.
setFlagsFromString('--liftoff-only');

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine(
    COMMAND,
    {
      'base-url': { type: 'string' },
      token: { type: 'string' },
      folder: { type: 'string' },
      name: { type: 'string' },
      concurrency: { type: 'string' },
      'hold-parts': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [file, ...extra] = positionals;
  if (file === undefined) usageError(COMMAND, 'name the file to upload');
  if (extra.length > 0) usageError(COMMAND, `one file at a time, got also "${extra.join(' ')}"`);
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) usageError(COMMAND, `"${file}" is not a file that can be read`);
  const baseUrl = values['base-url'];
  if (!baseUrl || !URL.canParse(baseUrl)) usageError(COMMAND, '--base-url needs the API base URL, e.g. http://127.0.0.1:8080/api/2.0');
  const token = values.token ?? process.env.BOX_TOKEN;
  if (!token) usageError(COMMAND, 'give a token with --token or BOX_TOKEN');
  const concurrency = integerOption(COMMAND, 'concurrency', values.concurrency, 4, 3);
  if (concurrency > 5) usageError(COMMAND, `--concurrency takes 3 to 5, got "${values.concurrency}"`);

  const bar =
    values.quiet || !process.stderr.isTTY
      ? undefined
      : // Loaded only for a terminal: every other run starts without it.
        new (await import('cli-progress')).SingleBar({ format: '{bar} {percentage}% | {value}/{total} MiB | parts {parts}', stream: process.stderr });
  const MiB = 1024 * 1024;
  try {
    const result = await uploadFile({
      baseUrl: baseUrl.replace(/\/$/, ''),
      token,
      file,
      fileName: values.name ?? basename(file),
      folderId: values.folder ?? '0',
      concurrency,
      holdParts: values['hold-parts'],
      onProgress: ({ uploadedBytes, totalBytes, partsDone, totalParts }) => {
        if (!bar) return;
        if (bar.getTotal() !== Math.ceil(totalBytes / MiB)) bar.start(Math.ceil(totalBytes / MiB), 0, { parts: '' });
        bar.update(Math.floor(uploadedBytes / MiB), { parts: `${partsDone}/${totalParts}` });
      },
      log: (line) => {
        if (bar) bar.stop();
        process.stderr.write(`${line}\n`);
      },
    });
    bar?.stop();
    process.stdout.write(`${JSON.stringify(result.file, null, 2)}\n`);
  } catch (error) {
    bar?.stop();
    const reason = error instanceof UploadError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`upload: failed: ${reason}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`upload: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
