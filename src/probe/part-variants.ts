/**
 * The ways the server features send part N: correctly, or crafted to be refused, each naming the rule
 * whose statement says it must be refused. The feature text after "is sent" picks one.
 */
import type { JsonResponse } from '../http/transport.ts';
import { digestHeaderFor, sha1Of } from '../protocol/digest.ts';
import type { Credentials, Expectation } from './exchange.ts';
import type { ProbeSession, ServerProbe } from './probe.ts';

export interface PartVariant {
  /** Undefined: a correct request, expected stored in a free range and refused as an overlap in an occupied one. */
  readonly refusedBy?: string;
  /** Bytes other than the file's, into part N's range (an overlap that would change the file). */
  readonly otherBytes?: boolean;
  send(probe: ServerProbe, file: ProbeSession, number: number, expect: Expectation | undefined): Promise<JsonResponse>;
}

const range = (offset: number, length: number) => ({ lo: offset, hi: offset + length - 1 });

const withHeaders = (overrides: (lo: number, hi: number, total: number) => Record<string, string | undefined>, rule: string): PartVariant => ({
  refusedBy: rule,
  send: (probe, file, number, expect) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const { lo, hi } = range(offset, bytes.length);
    return probe.putPart(file, { lo, hi }, bytes, overrides(lo, hi, file.fileSize), 'token', expect);
  },
});
const resized = (delta: number): PartVariant => ({
  refusedBy: 'S-PART-SIZE-REJECT',
  send: (probe, file, number, expect) => {
    const { offset, bytes } = probe.partBytes(file, number);
    const body = probe.bytesAt(file, offset, bytes.length + delta);
    return probe.putPart(file, range(offset, body.length), body, {}, 'token', expect);
  },
});
const unauthorized = (credentials: Credentials): PartVariant => ({
  refusedBy: 'S-AUTH',
  send: (probe, file, number) => probe.sendPart(file, number, credentials),
});
const correct: PartVariant = { send: (probe, file, number) => probe.sendPart(file, number) };

/** The bytes an overlapping part with other content sends into part N's range. */
export function otherBytesOf(probe: ServerProbe, file: ProbeSession, number: number): { offset: number; other: Buffer } {
  const { offset, bytes } = probe.partBytes(file, number);
  return { offset, other: probe.otherBytesAt(file, offset, bytes.length) };
}

export const PART_VARIANTS: Readonly<Record<string, PartVariant>> = {
  'as a correct client sends it': correct,
  'again as a correct client sends it': correct,
  'again with other bytes': {
    otherBytes: true,
    send: (probe, file, number) => {
      const { offset, other } = otherBytesOf(probe, file, number);
      return probe.putPart(file, range(offset, other.length), other);
    },
  },
  'one byte short': resized(-1),
  'one byte long': resized(1),
  'one byte late, still part_size bytes long': {
    refusedBy: 'S-RANGE-ALIGN-REJECT',
    send: (probe, file, number, expect) => {
      const { offset } = probe.partBytes(file, number);
      const body = probe.bytesAt(file, offset + 1, file.session.part_size);
      return probe.putPart(file, range(offset + 1, body.length), body, {}, 'token', expect);
    },
  },
  'without a Content-Range': withHeaders(() => ({ 'content-range': undefined }), 'S-RANGE-MALFORMED-REJECT'),
  'with a Content-Range lacking "bytes "': withHeaders((lo, hi, total) => ({ 'content-range': `${lo}-${hi}/${total}` }), 'S-RANGE-MALFORMED-REJECT'),
  'with a Content-Range of "bytes x-y/z"': withHeaders(() => ({ 'content-range': 'bytes x-y/z' }), 'S-RANGE-MALFORMED-REJECT'),
  'with a body 1000 bytes shorter than its range': {
    refusedBy: 'S-RANGE-MALFORMED-REJECT',
    send: (probe, file, number, expect) => {
      const { offset, bytes } = probe.partBytes(file, number);
      return probe.putPart(file, range(offset, bytes.length), bytes.subarray(0, bytes.length - 1000), {}, 'token', expect);
    },
  },
  'with a range one byte past the end of the file': {
    refusedBy: 'S-RANGE-MALFORMED-REJECT',
    send: (probe, file, number, expect) => {
      const { offset, bytes } = probe.partBytes(file, number);
      const body = Buffer.concat([bytes, Buffer.alloc(1)]);
      return probe.putPart(file, range(offset, body.length), body, {}, 'token', expect);
    },
  },
  'without a Digest': withHeaders(() => ({ digest: undefined }), 'S-DIGEST-REJECT'),
  'with the Digest of other bytes': withHeaders(() => ({ digest: digestHeaderFor(sha1Of('other bytes')) }), 'S-DIGEST-REJECT'),
  'without a token': unauthorized('none'),
  'with a wrong token': unauthorized('wrong'),
};
