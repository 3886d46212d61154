/** Bytes other than the file's, into part N's range: what an overlap that would change the file sends. */
import type { ProbeSession, ServerProbe } from './probe.ts';

export function otherBytesOf(probe: ServerProbe, file: ProbeSession, number: number): { offset: number; other: Buffer } {
  const { offset, bytes } = probe.partBytes(file, number);
  return { offset, other: probe.otherBytesAt(file, offset, bytes.length) };
}
