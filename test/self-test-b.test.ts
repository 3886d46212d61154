import { describe } from 'node:test';
import { CLIENT_SELF_TEST_CONCURRENCY, defectTests } from './support/self-test.ts';

describe('self-test: deliberately broken clients, second half', { concurrency: CLIENT_SELF_TEST_CONCURRENCY }, () => defectTests(1));
