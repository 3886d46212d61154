import { describe } from 'node:test';
import { serverSelfTests } from './support/self-test-servers.ts';

describe('self-test: deliberately broken servers, each a real process on loopback, second half', () => serverSelfTests(1));
