import type { SendResult } from '../http/transport.ts';
import type { AttemptOutcome } from './retry.ts';
import { parseRetryAfter } from './retry.ts';

export function outcomeOf(result: SendResult): AttemptOutcome {
  if (!result.ok) return { kind: 'network', message: result.failure };
  const { response } = result;
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
