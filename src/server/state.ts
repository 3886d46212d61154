import type { FaultPlan, FaultReportEntry } from './faults.ts';
import type { TrafficRecorder } from './recorder.ts';
import type { ActivePlan, UploadStore } from './store.ts';

/** What the server was started with, as every handler reads it. */
export interface ServerConfig {
  /** Accept only this bearer token; undefined: any non-empty bearer token. */
  token: string | undefined;
  partSize: number;
  minFileSize: number;
  sessionTtlMs: number;
  /** Write part files sparse (runs of zeros as holes): a part of zeros costs only its size and SHA-1. */
  sparseParts: boolean;
  maxUrlBytes: number;
}

/** A host name the server answers as, over connections handed to it (--intercept): e.g. Box's upload host. */
export interface PublicHost {
  /** e.g. https://upload.box.com */
  origin: string;
  /** The path the API lives under on that host, e.g. /api/2.0 (api.box.com: /2.0). */
  apiPrefix: string;
}

/** Everything one simulated server holds, passed explicitly to every handler. */
export interface ServerState {
  readonly config: ServerConfig;
  readonly store: UploadStore;
  readonly recorder: TrafficRecorder;
  /** The fault plan new sessions follow. */
  plan: ActivePlan;
  /** e.g. http://127.0.0.1:41234, known once the server listens. */
  origin: string;
  /** Connections handed over as made to a public host (the socket is the key). */
  readonly publicHosts: WeakMap<object, PublicHost>;
  /** How to reset a handed-over connection's client side (the proxy's TCP socket to the client). */
  readonly connectionResets: WeakMap<object, () => void>;
}

export const API_PREFIX = '/api/2.0';

export function setFaultPlan(state: ServerState, next: FaultPlan): void {
  state.plan = { instructions: next.instructions.map((instruction) => ({ ...instruction })), fired: next.instructions.map(() => 0), creates: 0 };
}

export function faultReport(state: ServerState): FaultReportEntry[] {
  return state.plan.instructions.map((instruction, index) => ({ instruction, fired: state.plan.fired[index] ?? 0 }));
}
