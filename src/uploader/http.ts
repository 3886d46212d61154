import { Agent, request } from 'undici';
import type { AttemptOutcome } from './retry.ts';
import { parseRetryAfter } from './retry.ts';

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
}

/** One HTTP exchange; a network failure comes back as `{kind: 'network'}` instead of a throw. */
export async function send(
  dispatcher: Agent,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  body?: Uint8Array | string,
): Promise<{ ok: true; response: JsonResponse } | { ok: false; outcome: AttemptOutcome }> {
  try {
    const res = await request(url, { method, headers, body, dispatcher });
    const text = await res.body.text();
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { ok: true, response: { status: res.statusCode, headers: res.headers, body: parsed } };
  } catch (error) {
    return { ok: false, outcome: { kind: 'network', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } };
  }
}

export function outcomeOf(response: JsonResponse): AttemptOutcome {
  const code = (response.body as { code?: unknown } | undefined)?.code;
  return {
    kind: 'status',
    status: response.status,
    code: typeof code === 'string' ? code : undefined,
    retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
  };
}

export function describeOutcome(outcome: AttemptOutcome): string {
  if (outcome.kind === 'network') return `connection failed (${outcome.message})`;
  return `HTTP ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}`;
}
