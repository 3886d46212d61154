/** The client adapters in clients/: each a command usable with --client. */
export interface KnownClient {
  id: string;
  name: string;
  command: string;
  /** Options of the kit the client is graded with, e.g. --intercept for a client that calls Box's own hosts. */
  kitArgs?: string[];
  /** The npm package graded (module: the name it is installed under). */
  package?: { name: string; module: string };
  /** Otherwise, the version graded when it is pinned outside npm (an SDK archive), and/or how to ask the tools it runs for theirs. */
  version?: string;
  versionCommands?: [string, string[]][];
  /** What a reader of its findings should know about how it is graded. */
  note?: string;
}

/** The interpreter the Python adapters run on, and the HTTP library both SDKs use (Debian's packages). */
const PYTHON_VERSIONS: [string, string[]][] = [
  ['/usr/bin/python3', ['--version']],
  ['/usr/bin/python3', ['-c', 'import requests; print("requests", requests.__version__)']],
  ['/usr/bin/python3', ['-c', 'import urllib3; print("urllib3", urllib3.__version__)']],
];
/** How an adapter left on Box's own hosts is graded (README: --intercept). */
const BOX_HOSTS_NOTE =
  "The same adapter with the SDK's default base URLs (Box's own hosts), graded with --intercept: the SDK runs in a network " +
  "namespace of its own where Box's hosts are the kit, with no proxy between, and trusts the run's CA; its statuses are those of the direct run.";

export const KNOWN_CLIENTS: readonly KnownClient[] = [
  {
    id: 'box-node-sdk',
    name: 'Box Node SDK (chunkedUploads.uploadBigFile)',
    command: 'node clients/box-node-sdk.mjs',
    package: { name: 'box-node-sdk', module: 'box-node-sdk' },
  },
  {
    id: 'box-node-sdk-box-hosts',
    name: "Box Node SDK on Box's own hosts, intercepted",
    command: 'node clients/box-node-sdk.mjs --box-hosts',
    kitArgs: ['--intercept'],
    package: { name: 'box-node-sdk', module: 'box-node-sdk' },
    note: BOX_HOSTS_NOTE,
  },
  {
    id: 'box-node-sdk-legacy',
    name: 'legacy Box Node SDK (getChunkedUploader)',
    command: 'node clients/box-node-sdk-legacy.mjs',
    package: { name: 'box-node-sdk', module: 'box-node-sdk-legacy' },
  },
  {
    id: 'box-node-sdk-legacy-box-hosts',
    name: "legacy Box Node SDK on Box's own hosts, intercepted",
    command: 'node clients/box-node-sdk-legacy.mjs --box-hosts',
    kitArgs: ['--intercept'],
    package: { name: 'box-node-sdk', module: 'box-node-sdk-legacy' },
    note: BOX_HOSTS_NOTE,
  },
  {
    id: 'guide-recipe',
    name: "the guide's recipe in bash (split, openssl, curl)",
    command: 'bash clients/guide-recipe.sh',
    versionCommands: [
      ['curl', ['--version']],
      ['openssl', ['version']],
    ],
  },
  {
    id: 'guide-recipe-box-urls',
    name: "the guide's recipe with Box's own URL, intercepted",
    command: 'bash clients/guide-recipe-box-urls.sh',
    kitArgs: ['--intercept'],
    note: "The same script as the recipe above, with Box's upload URL written in: its statuses should be the recipe's, and the tests check that they are.",
    versionCommands: [
      ['curl', ['--version']],
      ['openssl', ['version']],
    ],
  },
  {
    id: 'rclone',
    name: "rclone's Box backend (copyto), as it ships, intercepted",
    command: 'bash clients/rclone.sh',
    // rclone sends files up to its cutoff (at least 50,000,000 bytes) in one request: parts of 16 MiB make
    // every scenario's file of 3 parts or more an upload session.
    kitArgs: ['--intercept', '--part-size', '16777216'],
    note:
      'rclone sends a file up to its upload cutoff (at least 50,000,000 bytes) in one request, which the simulated server does not take: on the ' +
      "scenarios' 1000-byte file it makes no upload session, and no part rule is judged on that run. Its default 4 transfers take parts from " +
      'one pool and each retries its own part, so whether a new part starts before a retry (C-RETRY-FIRST) varies from run to run.',
    versionCommands: [['rclone', ['version']]],
  },
  {
    id: 'box-python-sdk-gen',
    name: 'Box Python SDK (chunked_uploads.upload_big_file)',
    command: '/usr/bin/python3 clients/box-python-sdk-gen.py',
    version: 'box_sdk_gen 10.13.0',
    versionCommands: PYTHON_VERSIONS,
  },
  {
    id: 'box-python-sdk-gen-box-hosts',
    name: "Box Python SDK on Box's own hosts, intercepted",
    command: '/usr/bin/python3 clients/box-python-sdk-gen.py --box-hosts',
    kitArgs: ['--intercept'],
    note: BOX_HOSTS_NOTE,
    version: 'box_sdk_gen 10.13.0',
    versionCommands: PYTHON_VERSIONS,
  },
  {
    id: 'box-python-sdk-legacy',
    name: 'legacy Box Python SDK (get_chunked_uploader)',
    command: '/usr/bin/python3 clients/box-python-sdk-legacy.py',
    version: 'boxsdk 3.14.0',
    versionCommands: PYTHON_VERSIONS,
  },
  {
    id: 'box-python-sdk-legacy-box-hosts',
    name: "legacy Box Python SDK on Box's own hosts, intercepted",
    command: '/usr/bin/python3 clients/box-python-sdk-legacy.py --box-hosts',
    kitArgs: ['--intercept'],
    note: `${BOX_HOSTS_NOTE} boxsdk picks the exceptions it retries by their words ("Connection aborted", …); through a proxy (--intercept-via proxy) urllib3 words every failure as a ProxyError, and boxsdk would not retry a drop (docs/python-sdks.md).`,
    version: 'boxsdk 3.14.0',
    versionCommands: PYTHON_VERSIONS,
  },
];
