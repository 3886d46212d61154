/**
 * What the steps attach to a scenario for the reports: the client run's traffic (for the timeline and
 * the exchanges that broke a rule) and the server probe's exchanges. Attachments travel in Cucumber's
 * message stream, the one source every report derives from.
 */
import { type FaultInstruction, describeFault } from '../server/faults.ts';
import type { ClientRun } from './client-checks.ts';

export const CLIENT_RUN_MEDIA_TYPE = 'application/vnd.box-conformance.client-run+json';
export const SERVER_EXCHANGES_MEDIA_TYPE = 'application/vnd.box-conformance.server-exchanges+json';
/** Attached beside a client run that exited without a request: what the client did instead (kit/silent-client.ts). */
export const SILENT_RUN_MEDIA_TYPE = 'application/vnd.box-conformance.silent-run+json';

export interface TimelineExchange {
  seq: number;
  op: string;
  method: string;
  url: string;
  partNumber?: number;
  attempt?: number;
  /** Content-Range lower bound, for parts. */
  offset?: number;
  /** Milliseconds since the run's first request started. */
  startMs: number;
  endMs: number;
  /** 0: no answer (dropped). */
  status: number;
  code?: string;
  dropped: boolean;
  fault?: string;
  requestHeaders: Record<string, string>;
  requestBody: { length: number; sha1: string; json?: unknown };
  /** Refused by the server's HTTP parser: why, and the raw head as received (credentials scrubbed). */
  parserRefused?: { reason: string; head: string };
  /** Names as the server sent them. Absent in attachments written before the kit recorded them. */
  responseHeaders?: Record<string, string>;
  responseBody?: unknown;
}

export interface ClientRunAttachment {
  runId: string;
  setup: {
    fileSize: number;
    partSize: number;
    /** The fault instructions, described for a reader. */
    faults: string[];
    /** The same instructions as `PUT /_control/faults` takes them. */
    instructions: FaultInstruction[];
    /** How the file's bytes are made: seeded bytes (protocol/seeded-bytes.ts), sparse or throughout; its SHA-1. */
    source: { seed: string; sparse: boolean; sha1: string };
    /** The server wrote parts sparse (--sparse-parts). */
    sparseParts: boolean;
  };
  exit: { code: number | null; timedOut: boolean };
  exchanges: TimelineExchange[];
}

export function clientRunAttachment(runId: string, run: ClientRun, source: ClientRunAttachment['setup']['source'], sparseParts: boolean): ClientRunAttachment {
  const origin = Math.min(...run.traffic.map((exchange) => exchange.startMs));
  return {
    runId,
    setup: {
      fileSize: run.fileSize,
      partSize: run.partSize,
      faults: run.faults.map((entry) => describeFault(entry.instruction)),
      instructions: run.faults.map((entry) => entry.instruction),
      source,
      sparseParts,
    },
    exit: run.exit,
    exchanges: run.traffic.map((exchange) => {
      return {
        seq: exchange.seq,
        op: exchange.op,
        method: exchange.method,
        url: exchange.url,
        partNumber: exchange.partNumber,
        attempt: exchange.attempt,
        offset: exchange.range?.lo,
        startMs: round(exchange.startMs - origin),
        endMs: round((Number.isFinite(exchange.endMs) ? exchange.endMs : exchange.startMs) - origin),
        status: exchange.status,
        code: exchange.answer?.code,
        dropped: exchange.dropped,
        fault: exchange.fault?.description,
        requestHeaders: exchange.requestHeaders,
        requestBody: { length: exchange.requestBody.length, sha1: exchange.requestBody.sha1, json: exchange.requestBody.json },
        parserRefused: exchange.parserRefused,
        responseHeaders: exchange.responseHeaders,
        responseBody: exchange.responseBody,
      };
    }),
  };
}

export interface SilentRunAttachment {
  runId: string;
  /** "exit code 1 after 212 ms" */
  exit: string;
  /** The last lines of its stderr (of its stdout when stderr is empty). */
  lastLines: string;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export interface ServerExchangeAttachment {
  request: string;
  status?: number;
  /** The answer's body, cut at 2,000 characters. */
  body?: string;
  failure?: string;
  /** The request as sent, for a reproduction (the token shown as `$TOKEN`). */
  method?: string;
  url?: string;
  sent?: { headers: Readonly<Record<string, string>>; json?: string; bytes?: string };
  /** What the kit expected of the answer, in words. */
  expected?: string;
  /** The probe case or generated step the request belongs to. */
  label?: string;
}
