import type { Server } from 'node:net';

/** How a client of an --intercept run reaches the kit, and the CA it must trust. */
export type InterceptAccess =
  | {
      via: 'proxy';
      /** http://127.0.0.1:<port> */
      proxyUrl: string;
      /** PEM file of the run's CA certificate. */
      caFile: string;
    }
  | {
      via: 'namespace';
      caFile: string;
      /** The /etc/hosts of the client's namespace. */
      hostsFile: string;
      /** Takes the namespace's 127.0.0.1:443 listener, once the client's namespace is made. */
      adopt(listener: Server): void;
    };

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'];

/**
 * The CA in every variable a common stack reads it from: OpenSSL and Go (SSL_CERT_FILE), curl
 * (CURL_CA_BUNDLE), Python requests (REQUESTS_CA_BUNDLE), Node.js (NODE_EXTRA_CA_CERTS). Through the proxy:
 * the proxy for https and http URLs in both spellings (curl reads only the lowercase `http_proxy`, Go and
 * Python either), no exceptions (NO_PROXY cleared, so that no host is reached directly), and
 * NODE_USE_ENV_PROXY, which asks Node.js 24 (and 22.21+) to honour them in its own http and fetch.
 * In its own namespace the client is given no proxy: every proxy variable empty (curl, Python, Go and undici
 * read an empty one as none), so that one it inherited cannot send it elsewhere.
 */
export function interceptEnvironment(access: InterceptAccess): Record<string, string> {
  const ca = { SSL_CERT_FILE: access.caFile, CURL_CA_BUNDLE: access.caFile, REQUESTS_CA_BUNDLE: access.caFile, NODE_EXTRA_CA_CERTS: access.caFile };
  if (access.via === 'namespace') return { ...Object.fromEntries(PROXY_VARIABLES.map((name) => [name, ''])), ...ca };
  return {
    HTTPS_PROXY: access.proxyUrl,
    https_proxy: access.proxyUrl,
    HTTP_PROXY: access.proxyUrl,
    http_proxy: access.proxyUrl,
    NO_PROXY: '',
    no_proxy: '',
    ...ca,
    NODE_USE_ENV_PROXY: '1',
  };
}
