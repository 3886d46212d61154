import { createHash } from 'node:crypto';
import type { Parsed } from './content-range.ts';

export function sha1Of(data: Uint8Array | string): Buffer {
  return createHash('sha1').update(data).digest();
}

/** `Digest: sha=<base64 of the SHA-1>` (RFC 3230), the only algorithm Box accepts. */
export function digestHeaderFor(sha1: Uint8Array): string {
  return `sha=${Buffer.from(sha1).toString('base64')}`;
}

const BASE64_20_BYTES = /^[A-Za-z0-9+/]{27}=$/;

/**
 * Finds the SHA-1 instance digest in a Digest header. Algorithm names are case-insensitive; other
 * algorithms may be listed beside it. The value must be canonical base64 of exactly 20 bytes.
 */
/** A header value as text a report can show: control characters (a bare CR, a tab) spelled out, as JSON spells them. */
const shown = (value: string) => [...value].map((char) => (char < ' ' || char === '\u007f' ? JSON.stringify(char).slice(1, -1) : char)).join('');

export function parseDigest(header: string | undefined): Parsed<Buffer> {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'Digest header is missing' };
  const entries = header.split(',').map((entry) => entry.trim());
  const sha = entries.find((entry) => /^sha=/i.test(entry));
  if (sha === undefined) return { ok: false, reason: `Digest "${shown(header)}" has no sha= entry` };
  const encoded = sha.slice(4);
  if (/^[0-9a-f]{40}$/i.test(encoded)) {
    return { ok: false, reason: `Digest "${shown(header)}" carries the SHA-1 as hex; it must be base64 of the 20 raw bytes` };
  }
  if (!BASE64_20_BYTES.test(encoded)) {
    return { ok: false, reason: `Digest "${shown(header)}" is not base64 of a 20-byte SHA-1` };
  }
  return { ok: true, value: Buffer.from(encoded, 'base64') };
}

export function isSha1Hex(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{40}$/.test(value);
}
