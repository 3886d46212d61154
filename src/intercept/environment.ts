/** How a client is told to use the run's proxy and to trust the run's CA: the variables real stacks read. */
export interface ProxyAccess {
  /** http://127.0.0.1:<port> */
  proxyUrl: string;
  /** PEM file of the run's CA certificate. */
  caFile: string;
}

/**
 * The proxy for https and http URLs in both spellings (curl reads only the lowercase `http_proxy`, Go and
 * Python either), no exceptions (NO_PROXY cleared, so that no host is reached directly), and the CA in
 * every variable a common stack reads it from: OpenSSL and Go (SSL_CERT_FILE), curl (CURL_CA_BUNDLE),
 * Python requests (REQUESTS_CA_BUNDLE), Node.js (NODE_EXTRA_CA_CERTS). NODE_USE_ENV_PROXY asks Node.js
 * 24 (and 22.21+) to honour the proxy variables in its own http and fetch.
 */
export function proxyEnvironment(access: ProxyAccess): Record<string, string> {
  return {
    HTTPS_PROXY: access.proxyUrl,
    https_proxy: access.proxyUrl,
    HTTP_PROXY: access.proxyUrl,
    http_proxy: access.proxyUrl,
    NO_PROXY: '',
    no_proxy: '',
    SSL_CERT_FILE: access.caFile,
    CURL_CA_BUNDLE: access.caFile,
    REQUESTS_CA_BUNDLE: access.caFile,
    NODE_EXTRA_CA_CERTS: access.caFile,
    NODE_USE_ENV_PROXY: '1',
  };
}
