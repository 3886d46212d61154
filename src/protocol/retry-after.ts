/** Header values as Node and undici give them: names in lower case, a repeated header as an array. */
export type HeaderValues = Record<string, string | string[] | undefined>;

/** A header's value whatever the case of its name (a recording, or a raw answer, may keep the case sent). */
export function headerValue(headers: HeaderValues, name: string): string | undefined {
  const lower = name.toLowerCase();
  const value = headers[lower] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === lower)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Retry-After in milliseconds from `now`: delay-seconds, as Box sends it (`retry-after: 5`), or an
 * HTTP-date (RFC 9110 §10.2.3; a date already past is 0). Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: HeaderValues, now: number = Date.now()): number | undefined {
  const text = headerValue(headers, 'retry-after')?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date names its weekday; a bare number or other text is not one.
  if (!/^[A-Za-z]{3},/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
