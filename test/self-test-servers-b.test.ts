import { SERVER_SELF_TEST_CONCURRENCY } from './support/self-test.ts';
import { describe } from 'node:test';
import { serverSelfTests } from './support/self-test-servers.ts';

describe('self-test: deliberately broken servers, each a real process on loopback, second half', { concurrency: SERVER_SELF_TEST_CONCURRENCY }, () =>
  serverSelfTests(1),
);
