/**
 * Box's API around uploads, as real tools call it before and after a chunked upload: file entries (full
 * and projected by `fields`), a folder's items with offset and marker paging, the preflight check, and
 * the attributes a commit may set. Pure: the handlers feed it the simulated server's own state.
 */
import { type BoxFile, type Checked, fileNameProblem, isRecord } from '../protocol/shapes.ts';

/** The simulated account every item belongs to (the simulator has one user). */
export const KIT_USER = { type: 'user', id: '11446498', name: 'Box conformance kit', login: 'conformance-kit@example.invalid' } as const;

/** Box's mini file representation: what an item carries whatever `fields` asks for. */
const MINI_FILE_FIELDS = ['type', 'id', 'sequence_id', 'etag', 'sha1', 'name', 'file_version'] as const;

/** The attributes a commit (or a new version) may set on the file, as the client sent them. */
export interface FileAttributes {
  content_created_at?: string;
  content_modified_at?: string;
}

/** ISO 8601 / RFC 3339 date-time with a zone, as Box takes it (e.g. 2012-12-12T10:53:43-08:00). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Box's timestamps: seconds precision, UTC. */
export const boxTimestamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The commit body's optional `attributes`: content_created_at and content_modified_at, kept as sent. */
export function commitAttributesOf(body: unknown): Checked<FileAttributes> {
  const attributes = isRecord(body) ? body.attributes : undefined;
  if (attributes === undefined || attributes === null) return { ok: true, value: {} };
  if (!isRecord(attributes)) return { ok: false, status: 400, code: 'bad_request', message: 'attributes must be a JSON object' };
  const value: FileAttributes = {};
  for (const name of ['content_created_at', 'content_modified_at'] as const) {
    const given = attributes[name];
    if (given === undefined) continue;
    if (typeof given !== 'string' || !DATE_TIME.test(given) || Number.isNaN(Date.parse(given)))
      return { ok: false, status: 400, code: 'bad_request', message: `attributes.${name} must be an RFC 3339 date-time, got ${JSON.stringify(given)}` };
    value[name] = given;
  }
  return { ok: true, value };
}

export interface NewFileEntry {
  id: string;
  /** How many versions before this one (0 for a new file). */
  version: number;
  name: string;
  size: number;
  sha1: string;
  folderId: string;
  versionId: string;
  createdAt: number;
  modifiedAt: number;
  attributes: FileAttributes;
  /** For a new version: the entry it replaces (keeps its created_at). */
  previous?: BoxFile;
}

/** A file's full entry, as Box answers GET /files/{id} and a commit. */
export function fileEntry(file: NewFileEntry): BoxFile {
  const createdAt = typeof file.previous?.created_at === 'string' ? file.previous.created_at : boxTimestamp(file.createdAt);
  const modifiedAt = boxTimestamp(file.modifiedAt);
  const parent = {
    type: 'folder' as const,
    id: file.folderId,
    sequence_id: null,
    etag: null,
    name: file.folderId === '0' ? 'All Files' : `folder ${file.folderId}`,
  };
  return {
    type: 'file',
    id: file.id,
    etag: String(file.version),
    sequence_id: String(file.version),
    name: file.name,
    sha1: file.sha1,
    file_version: { type: 'file_version', id: file.versionId, sha1: file.sha1 },
    description: '',
    size: file.size,
    path_collection: { total_count: 1, entries: [parent] },
    created_at: createdAt,
    modified_at: modifiedAt,
    trashed_at: null,
    purged_at: null,
    content_created_at:
      file.attributes.content_created_at ?? (typeof file.previous?.content_created_at === 'string' ? file.previous.content_created_at : createdAt),
    content_modified_at: file.attributes.content_modified_at ?? modifiedAt,
    created_by: KIT_USER,
    modified_by: KIT_USER,
    owned_by: KIT_USER,
    shared_link: null,
    parent,
    item_status: 'active',
  };
}

/** `fields=a,b`: the mini representation plus the fields asked for (Box's rule); the full entry without it. */
export function projectFields(entry: BoxFile, fields: string | null): Record<string, unknown> {
  if (fields === null || fields.trim() === '') return entry;
  const wanted = new Set<string>([...MINI_FILE_FIELDS, ...fields.split(',').map((field) => field.trim())]);
  return Object.fromEntries(Object.entries(entry).filter(([name]) => wanted.has(name)));
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const MAX_OFFSET = 10_000;

const bad = (message: string): Checked<never> => ({ ok: false, status: 400, code: 'bad_request', message });

/** A whole number from a query parameter, or NaN when malformed (undefined when absent). */
function integerParameter(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  return /^(0|[1-9][0-9]{0,8})$/.test(raw) ? Number(raw) : Number.NaN;
}

/** Items in Box's default order for a folder of files: by name, then id. */
const byName = (a: BoxFile, b: BoxFile) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Number(a.id) - Number(b.id));

const markerFor = (file: BoxFile) => Buffer.from(JSON.stringify([file.name, file.id])).toString('base64url');
function afterMarker(marker: string): { name: string; id: string } | undefined {
  try {
    const decoded = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[0] === 'string' && typeof decoded[1] === 'string')
      return { name: decoded[0], id: decoded[1] };
  } catch {
    // not one of ours
  }
  return undefined;
}

/**
 * GET /folders/{id}/items: offset paging (`offset`, `limit`, `total_count`), or marker paging with
 * `usemarker=true` (`marker`, `limit`, `next_marker`, null on the last page); `fields` as projectFields.
 */
export function folderItemsPage(files: readonly BoxFile[], query: URLSearchParams): Checked<Record<string, unknown>> {
  const limit = integerParameter(query, 'limit') ?? DEFAULT_LIMIT;
  if (Number.isNaN(limit) || limit < 1 || limit > MAX_LIMIT) return bad(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  const sorted = [...files].sort(byName);
  const project = (file: BoxFile) => projectFields(file, query.get('fields'));
  const order = [
    { by: 'type', direction: 'ASC' },
    { by: 'name', direction: 'ASC' },
  ];
  if (query.get('usemarker') === 'true') {
    const marker = query.get('marker');
    let start = 0;
    if (marker !== null && marker !== '') {
      const after = afterMarker(marker);
      if (!after) return bad('marker is not a marker this server handed out');
      const key = { name: after.name, id: after.id } as BoxFile;
      start = sorted.findIndex((file) => byName(file, key) > 0);
      if (start < 0) start = sorted.length;
    }
    const page = sorted.slice(start, start + limit);
    const last = page.at(-1);
    const more = start + limit < sorted.length;
    return { ok: true, value: { entries: page.map(project), limit, next_marker: more && last ? markerFor(last) : null, order } };
  }
  const offset = integerParameter(query, 'offset') ?? 0;
  if (Number.isNaN(offset) || offset > MAX_OFFSET) return bad(`offset must be an integer from 0 to ${MAX_OFFSET}`);
  return { ok: true, value: { total_count: sorted.length, entries: sorted.slice(offset, offset + limit).map(project), offset, limit, order } };
}

export interface PreflightRequest {
  name: string;
  folderId: string;
  size?: number;
}

/** The body of OPTIONS /files/content (Box's preflight check): `name`, `parent.id`, optional `size`. */
export function checkPreflightBody(body: unknown): Checked<PreflightRequest> {
  if (!isRecord(body)) return bad('Body must be a JSON object');
  const { name, parent, size } = body;
  if (typeof name !== 'string') return { ok: false, status: 400, code: 'bad_request', message: 'name is required' };
  const problem = fileNameProblem(name);
  if (problem) return { ok: false, status: 400, code: 'item_name_invalid', message: problem.replace(/^file_name/, 'name') };
  const folderId = isRecord(parent) ? parent.id : undefined;
  if (typeof folderId !== 'string' || !/^(0|[1-9][0-9]*)$/.test(folderId)) return bad('parent.id must be a folder id (a string of digits)');
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) return bad('size must be a whole number of bytes');
  return { ok: true, value: { name, folderId, size: size as number | undefined } };
}

/** What item_name_in_use carries in context_info for a name taken by `file`: enough for a client to upload a new version. */
export function nameConflict(file: BoxFile): Record<string, unknown> {
  return { conflicts: projectFields(file, 'name') };
}
