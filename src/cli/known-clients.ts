/** The client adapters in clients/: each a command usable with --client. */
export interface KnownClient {
  id: string;
  name: string;
  command: string;
  /** The npm package graded (module: the name it is installed under). */
  package?: { name: string; module: string };
  /** Otherwise, how to ask the tool it runs for its version. */
  versionCommands?: [string, string[]][];
}

export const KNOWN_CLIENTS: readonly KnownClient[] = [
  {
    id: 'box-node-sdk',
    name: 'Box Node SDK (chunkedUploads.uploadBigFile)',
    command: 'node clients/box-node-sdk.mjs',
    package: { name: 'box-node-sdk', module: 'box-node-sdk' },
  },
  {
    id: 'box-node-sdk-legacy',
    name: 'legacy Box Node SDK (getChunkedUploader)',
    command: 'node clients/box-node-sdk-legacy.mjs',
    package: { name: 'box-node-sdk', module: 'box-node-sdk-legacy' },
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
];
