/** Bytes other than the file's, into part N's range: what an overlap that would change the file sends. */
import type { JsonResponse } from '../http/transport.ts';
import type { ProbeSession, ServerProbe } from './probe.ts';

export function otherBytesOf(probe: ServerProbe, file: ProbeSession, number: number): { offset: number; other: Buffer } {
  const { offset, bytes } = probe.partBytes(file, number);
  return { offset, other: probe.otherBytesAt(file, offset, bytes.length) };
}

/** Sends part N's range again with other bytes, expecting what the kit's picture of the session says (416 where it is stored). */
export function sendOtherBytes(probe: ServerProbe, file: ProbeSession, number: number): Promise<JsonResponse> {
  const { offset, other } = otherBytesOf(probe, file, number);
  return probe.putPart(file, { lo: offset, hi: offset + other.length - 1 }, other);
}
