import type { Credentials } from './exchange.ts';

export const WRONG_TOKEN = 'not-the-token-0000';

/** The Authorization header a request with `credentials` carries (none for `none`). */
export function authorizationFor(credentials: Credentials, token: string): Record<string, string> {
  switch (credentials) {
    case 'none':
      return {};
    case 'wrong':
      return { authorization: `Bearer ${WRONG_TOKEN}` };
    case 'no-scheme':
      return { authorization: token };
    case 'other-scheme':
      return { authorization: `Token ${token}` };
    case 'empty-bearer':
      return { authorization: 'Bearer ' };
    case 'token':
      return { authorization: `Bearer ${token}` };
  }
}

/** The Authorization header as a reproduction shows it: never the token. */
export function shownAuthorization(credentials: Credentials, token: string): string {
  return authorizationFor(credentials, token).authorization?.replace(token, '$TOKEN') ?? '';
}
