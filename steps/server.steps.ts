import { After, Before, Given, Then, When } from '@cucumber/cucumber';
import { SERVER_EXCHANGES_MEDIA_TYPE, type ServerExchangeAttachment } from '../src/grader/attachments.ts';
import { type JsonResponse, describeResponse } from '../src/http/transport.ts';
import {
  committedFileProblem,
  errorShapeProblem,
  partRecordProblem,
  partsPageProblem,
  refusalProblem,
  sessionStatusProblem,
  statusProblem,
} from '../src/grader/server-checks.ts';
import { serverTarget } from '../src/kit/server-target.ts';
import { type Credentials, type ProbeSession, ServerProbe } from '../src/probe/probe.ts';
import { digestHeaderFor, sha1Of } from '../src/protocol/digest.ts';
import { totalPartsFor } from '../src/protocol/parts.ts';
import { type UploadPart, uploadSessionProblem } from '../src/protocol/shapes.ts';
import { uploadFile } from '../src/uploader/index.ts';
import type { KitWorld } from './support/world.ts';

/** Fails the step with `problem` (the exchanges the scenario made are attached after it). */
function expectNo(problem: string | undefined): void {
  if (problem === undefined) return;
  throw new Error(problem);
}

function probeOf(world: KitWorld): ServerProbe {
  world.probe ??= new ServerProbe(serverTarget(), world.scenarioSlug);
  return world.probe;
}

function sessionOf(world: KitWorld): ProbeSession {
  if (!world.file) throw new Error('no upload session: a Given step should have opened one');
  return world.file;
}

function answerOf(world: KitWorld): JsonResponse {
  if (!world.answer) throw new Error('no answer to judge: the When step sent nothing');
  return world.answer;
}

const partCount = (file: ProbeSession) => totalPartsFor(file.fileSize, file.session.part_size);
const partNumber = (file: ProbeSession, which: string) => (which === 'the last part' ? partCount(file) : Number(/\d+/.exec(which)?.[0]));

Before({ tags: '@server' }, function (this: KitWorld, { pickle }) {
  this.scenarioSlug = pickle.tags.map((tag) => tag.name.slice(1)).find((name) => name.startsWith('S-')) ?? 'S';
});

After({ tags: '@server' }, async function (this: KitWorld) {
  if (!this.probe) return;
  const left = await this.probe.cleanUp();
  if (left.length > 0) this.attach(`could not clean up: ${left.join(', ')}`, 'text/plain');
  const { exchanges } = this.probe;
  if (exchanges.length === 0) return;
  this.attach(
    exchanges
      .map((exchange) => `${exchange.request} -> ${exchange.response ? describeResponse(exchange.response) : `no answer: ${exchange.failure}`}`)
      .join('\n'),
    'text/plain',
  );
  const evidence: ServerExchangeAttachment[] = exchanges.map((exchange) => ({
    request: exchange.request,
    status: exchange.response?.status,
    body: exchange.response?.text.slice(0, 2000),
    failure: exchange.failure,
  }));
  this.attach(JSON.stringify(evidence), SERVER_EXCHANGES_MEDIA_TYPE);
});

// --- sessions -------------------------------------------------------------------------------------

Given('an upload session for a file of at least {int} parts', async function (this: KitWorld, parts: number) {
  this.file = await probeOf(this).openSession(parts);
});

const CREATE_CHANGES: Record<string, (body: Record<string, unknown>) => void> = {
  'leaving out folder_id': (body) => delete body.folder_id,
  'leaving out file_name': (body) => delete body.file_name,
  'leaving out file_size': (body) => delete body.file_size,
  'giving file_size as "lots"': (body) => (body.file_size = 'lots'),
  'giving file_size as -5': (body) => (body.file_size = -5),
};
const CREATE_CREDENTIALS: Record<string, Credentials> = { 'without a token': 'none', 'with a wrong token': 'wrong' };

When(
  /^a session is opened for a (\d+)-byte file(?:, (.+)| (with(?:out)? a (?:wrong )?token))?$/,
  async function (this: KitWorld, size: string, change: string | null, how: string | null) {
    const probe = probeOf(this);
    const body = probe.createBody(Number(size), probe.nextFileName());
    if (change !== null) {
      const apply = CREATE_CHANGES[change];
      if (!apply) throw new Error(`unknown change to the create body: ${change}`);
      apply(body);
    }
    this.answer = await probe.createRaw(body, how === null ? 'token' : (CREATE_CREDENTIALS[how] ?? 'token'));
    this.createdSize = Number(size);
  },
);

Then('the server answers 201 with an upload_session whose total_parts fits its part_size and whose endpoints are absolute URLs', function (this: KitWorld) {
  const answer = answerOf(this);
  expectNo(statusProblem(answer, 201));
  expectNo(uploadSessionProblem(answer.body, this.createdSize ?? 0));
});

// --- parts ----------------------------------------------------------------------------------------

Given('part {int} was stored', async function (this: KitWorld, number: number) {
  this.stored.push(await probeOf(this).storePart(sessionOf(this), number));
});
Given('parts {int} and {int} were stored', async function (this: KitWorld, first: number, second: number) {
  for (const number of [first, second]) this.stored.push(await probeOf(this).storePart(sessionOf(this), number));
});
Given('every part was stored', async function (this: KitWorld) {
  const file = sessionOf(this);
  for (let number = 1; number <= partCount(file); number++) this.stored.push(await probeOf(this).storePart(file, number));
});
Given('every part but the last was stored', async function (this: KitWorld) {
  const file = sessionOf(this);
  for (let number = 1; number < partCount(file); number++) this.stored.push(await probeOf(this).storePart(file, number));
});

/** How a step garbles part N: what it sends instead of the correct request. */
type PartVariant = (probe: ServerProbe, file: ProbeSession, number: number) => Promise<JsonResponse>;

const correct: PartVariant = async (probe, file, number) => {
  const { offset, bytes } = probe.partBytes(file, number);
  return probe.putPart(file, { lo: offset, hi: offset + bytes.length - 1 }, bytes);
};
const withHeaders =
  (overrides: (range: { lo: number; hi: number }, total: number) => Record<string, string | undefined>, credentials: Credentials = 'token'): PartVariant =>
  async (probe, file, number) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const range = { lo: offset, hi: offset + bytes.length - 1 };
    return probe.putPart(file, range, bytes, overrides(range, file.fileSize), credentials);
  };
const resized =
  (delta: number): PartVariant =>
  async (probe, file, number) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const body = probe.bytesAt(file, offset, bytes.length + delta);
    return probe.putPart(file, { lo: offset, hi: offset + body.length - 1 }, body);
  };

const PART_VARIANTS: Record<string, PartVariant> = {
  'as a correct client sends it': correct,
  'one byte short': resized(-1),
  'one byte long': resized(1),
  'one byte late, still part_size bytes long': async (probe, file, number) => {
    const { offset } = probe.partBytes(file, number);
    const body = probe.bytesAt(file, offset + 1, file.session.part_size);
    return probe.putPart(file, { lo: offset + 1, hi: offset + body.length }, body);
  },
  'without a Content-Range': withHeaders(() => ({ 'content-range': undefined })),
  'with a Content-Range lacking "bytes "': withHeaders((range, total) => ({ 'content-range': `${range.lo}-${range.hi}/${total}` })),
  'with a Content-Range of "bytes x-y/z"': withHeaders(() => ({ 'content-range': 'bytes x-y/z' })),
  'with a body 1000 bytes shorter than its range': async (probe, file, number) => {
    const { offset, bytes } = probe.partBytes(file, number);
    return probe.putPart(file, { lo: offset, hi: offset + bytes.length - 1 }, bytes.subarray(0, bytes.length - 1000));
  },
  'with a range one byte past the end of the file': async (probe, file, number) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const body = Buffer.concat([bytes, Buffer.alloc(1)]);
    return probe.putPart(file, { lo: offset, hi: offset + body.length - 1 }, body);
  },
  'without a Digest': withHeaders(() => ({ digest: undefined })),
  'with the Digest of other bytes': withHeaders(() => ({ digest: digestHeaderFor(sha1Of('other bytes')) })),
  'with a wrong token': withHeaders(() => ({}), 'wrong'),
};

When(/^(part \d+|the last part) is sent (.+)$/, async function (this: KitWorld, which: string, how: string) {
  const variant = PART_VARIANTS[how];
  if (!variant) throw new Error(`no such way to send a part: "${how}"`);
  const file = sessionOf(this);
  const number = partNumber(file, which);
  this.sentPart = number;
  this.answer = await variant(probeOf(this), file, number);
});

Then("the server answers 200 with the part's record: its offset, its size and the hex SHA-1 of its bytes", function (this: KitWorld) {
  const file = sessionOf(this);
  const { offset, bytes } = probeOf(this).partBytes(file, this.sentPart ?? 1);
  expectNo(partRecordProblem(answerOf(this), { offset, size: bytes.length, sha1: sha1Of(bytes).toString('hex') }));
});

Then('the server refuses it with a 4xx', function (this: KitWorld) {
  expectNo(refusalProblem(answerOf(this)));
});
Then('the server refuses the commit with a 4xx', function (this: KitWorld) {
  expectNo(refusalProblem(answerOf(this)));
});

Then(/^the server answers (\d{3})(?: (\w+))?$/, function (this: KitWorld, status: string, code: string | null) {
  expectNo(statusProblem(answerOf(this), Number(status), code ?? undefined));
});

Then('no part is stored in the session', async function (this: KitWorld) {
  const listed = await probeOf(this).listParts(sessionOf(this));
  const problem = partsPageProblem(listed, this.stored, this.stored.length);
  if (problem) throw new Error(`the part was refused, but the session's parts say otherwise: ${problem}`);
});

Then('the parts stored are exactly part {int}, as first stored', async function (this: KitWorld, _number: number) {
  expectNo(partsPageProblem(await probeOf(this).listParts(sessionOf(this)), this.stored, this.stored.length));
});

// --- listing, status, abort -----------------------------------------------------------------------

Then(/^the parts listed are exactly (?:none|parts \d+ and \d+), with total_count (\d+)$/, async function (this: KitWorld, total: string) {
  if (this.stored.length !== Number(total)) throw new Error(`the scenario stored ${this.stored.length} parts, not ${total}`);
  expectNo(partsPageProblem(await probeOf(this).listParts(sessionOf(this)), this.stored, this.stored.length));
});

Then(
  'a page of limit {int} at offset {int} and a page of limit {int} at offset {int} hold one part each, together parts {int} and {int}',
  async function (this: KitWorld, limitA: number, offsetA: number, limitB: number, offsetB: number, _first: number, _second: number) {
    const probe = probeOf(this);
    const file = sessionOf(this);
    const seen: UploadPart[] = [];
    for (const [limit, offset] of [
      [limitA, offsetA],
      [limitB, offsetB],
    ] as const) {
      const page = await probe.listParts(file, { limit, offset });
      const entries = (page.body as { entries?: UploadPart[] } | undefined)?.entries;
      const total = (page.body as { total_count?: unknown } | undefined)?.total_count;
      if (page.status !== 200 || !Array.isArray(entries)) throw new Error(`the page at offset ${offset}: ${describeResponse(page)}`);
      if (entries.length !== limit) throw new Error(`the page of limit ${limit} at offset ${offset} holds ${entries.length} parts`);
      if (total !== this.stored.length)
        throw new Error(`the page at offset ${offset} gives total_count ${JSON.stringify(total)}, ${this.stored.length} parts are stored`);
      seen.push(...entries);
    }
    const offsets = seen.map((part) => part.offset).sort((a, b) => a - b);
    const expected = this.stored.map((part) => part.offset).sort((a, b) => a - b);
    if (JSON.stringify(offsets) !== JSON.stringify(expected))
      throw new Error(`the two pages hold the parts at offsets ${offsets.join(', ')}, not ${expected.join(', ')}`);
  },
);

Then("the session's status is the upload_session with num_parts_processed {int}", async function (this: KitWorld, processed: number) {
  const file = sessionOf(this);
  expectNo(sessionStatusProblem(await probeOf(this).status(file), file.session.id, processed));
});

When('the session is aborted', async function (this: KitWorld) {
  this.answer = await probeOf(this).abort(sessionOf(this).session);
});

Then('the session is gone: its status, its parts and a new part are all refused with a 4xx', async function (this: KitWorld) {
  const probe = probeOf(this);
  const file = sessionOf(this);
  const checks: [string, JsonResponse][] = [
    ['its status', await probe.status(file)],
    ['its parts', await probe.listParts(file)],
    ['part 2', await probe.sendPart(file, 2)],
  ];
  const alive = checks.filter(([, answer]) => refusalProblem(answer) !== undefined).map(([what, answer]) => `${what}: ${describeResponse(answer)}`);
  if (alive.length > 0) throw new Error(`after the abort answered ${answerOf(this).status}, the session still answers: ${alive.join('; ')}`);
});

When('the status of an unknown session is asked', async function (this: KitWorld) {
  const file = sessionOf(this);
  const unknown = file.session.session_endpoints.status.replace(file.session.id, 'F'.repeat(file.session.id.length));
  this.answer = await probeOf(this).send('GET', unknown, {});
});

Then('the error answer is Box\'s ClientError JSON: type "error", the HTTP status, a code, a message and a request_id', function (this: KitWorld) {
  const answer = answerOf(this);
  if (answer.status < 400) {
    // Refusing it is another rule's business; with no error there is no shape to judge.
    this.attach(`not judged: the request was answered HTTP ${answer.status}, not an error`, 'text/plain');
    return 'skipped';
  }
  expectNo(errorShapeProblem(answer));
  return undefined;
});

// --- commit ---------------------------------------------------------------------------------------

const wholeFileDigest = (probe: ServerProbe, file: ProbeSession) => digestHeaderFor(sha1Of(probe.bytesAt(file, 0, file.fileSize)));

When('the session is committed with every part and the Digest of other bytes', async function (this: KitWorld) {
  this.answer = await probeOf(this).commit(sessionOf(this), this.stored, digestHeaderFor(sha1Of('other bytes')));
});

When('the session is committed with the stored parts and the Digest of their bytes, as if they were the whole file', async function (this: KitWorld) {
  const probe = probeOf(this);
  const file = sessionOf(this);
  const covered = this.stored.reduce((end, part) => Math.max(end, part.offset + part.size), 0);
  this.answer = await probe.commit(file, this.stored, digestHeaderFor(sha1Of(probe.bytesAt(file, 0, covered))));
});

Then('committing again with the right Digest creates the file, so none was created before', async function (this: KitWorld) {
  const probe = probeOf(this);
  const file = sessionOf(this);
  const again = await probe.commit(file, this.stored, wholeFileDigest(probe, file));
  const problem = committedFileProblem(again, file.fileSize);
  if (problem) throw new Error(`after the refused commit, a correct commit fails (${problem}): the refused commit may have created the file`);
});

Then('after the last part is stored, committing again creates the file, so none was created before', async function (this: KitWorld) {
  const probe = probeOf(this);
  const file = sessionOf(this);
  this.stored.push(await probe.storePart(file, partCount(file)));
  const again = await probe.commit(file, this.stored, wholeFileDigest(probe, file));
  const problem = committedFileProblem(again, file.fileSize);
  if (problem) throw new Error(`after the refused commit, a complete commit fails (${problem}): the refused commit may have created the file`);
});

When('the reference uploader uploads a file of at least {int} parts', async function (this: KitWorld, parts: number) {
  const probe = probeOf(this);
  const target = probe.target;
  // The server picks part_size: a probe session finds a file size that makes enough parts.
  const sizing = await probe.openSession(parts);
  await probe.abort(sizing.session);
  const path = await this.seededSourceFile(`${target.seed}:reference`, sizing.fileSize);
  const uploaded = await uploadFile({
    baseUrl: target.baseUrl,
    token: target.token,
    file: path.path,
    fileName: probe.nextFileName(),
    folderId: target.folderId,
    transport: target.transport,
    // Part records are S-PART-OK's to judge; here only the commit is.
    checkPartRecords: false,
    log: (line) => this.attach(line, 'text/plain'),
  }).then(
    (result) => ({ ok: true as const, result }),
    (error: unknown) => ({ ok: false as const, message: error instanceof Error ? error.message : String(error) }),
  );
  if (!uploaded.ok) throw new Error(`the reference uploader could not upload: ${uploaded.message}`);
  probe.adoptFile(uploaded.result.file.id);
  this.uploaded = { size: path.size, sha1: path.sha1, file: uploaded.result.file };
});

Then("the commit was answered 201, after any 202s, with a file entry of the file's size and SHA-1", function (this: KitWorld) {
  if (!this.uploaded) throw new Error('nothing was uploaded');
  const { size, sha1, file } = this.uploaded;
  if (file.size !== size) throw new Error(`the committed file is ${file.size} bytes, ${size} were uploaded`);
  if (typeof file.sha1 === 'string' && file.sha1 !== sha1) throw new Error(`the committed file's sha1 is ${file.sha1}, the uploaded bytes hash to ${sha1}`);
});
