#!/usr/bin/env node
// Adapter: the legacy Box Node SDK (box-node-sdk 3.x, installed as the npm alias box-node-sdk-legacy)
// under the kit's command contract: a basic client with the token, API roots pointed at the kit's
// server, then files.getChunkedUploader(...).start() with its defaults (4 parts in parallel). With --box-hosts
// the API roots and agent are the SDK's defaults, Box's own hosts over https: graded with --intercept.
import { createReadStream, statSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';
import { Agent } from 'node:http';
import BoxSDK from 'box-node-sdk-legacy';

const env = (name) => process.env[name] ?? (console.error(`${name} is not set`), process.exit(2));
const apiBase = env('UPLOAD_BASE_URL').replace(/\/+$/, ''); // …/api/2.0
const api = apiBase.replace(/\/2\.0$/, ''); // …/api
const origin = new URL(apiBase).origin;
const file = env('UPLOAD_FILE');

// The SDK wants app credentials to construct, though a basic (token) client never uses them; its default
// agent is https-only, and the kit's server speaks plain HTTP on loopback.
const credentials = { clientID: 'conformance-kit', clientSecret: 'unused' };
const sdk = new BoxSDK(
  process.argv.includes('--box-hosts')
    ? credentials
    : { ...credentials, apiRootURL: origin, uploadAPIRootURL: api, request: { agentClass: Agent, agentOptions: { keepAlive: true } } },
);
const client = sdk.getBasicClient(env('UPLOAD_TOKEN'));

// An SDK promise that never settles must be a hang, as it would be in an application that awaits it, not
// Node's exit 13 for a module's unsettled top-level await: a ref'd timer keeps the process alive until it settles.
const alive = setInterval(() => {}, 60_000);
try {
  const size = statSync(file).size;
  const uploader = await client.files.getChunkedUploader(env('UPLOAD_FOLDER_ID'), size, env('UPLOAD_FILE_NAME'), createReadStream(file));
  const uploaded = await uploader.start();
  const entry = uploaded?.entries?.[0];
  console.log(`committed file ${entry?.id} (${entry?.size} bytes)`);
} catch (error) {
  console.error(`upload failed: ${error?.message ?? error}`);
  process.exit(1);
} finally {
  clearInterval(alive);
}
