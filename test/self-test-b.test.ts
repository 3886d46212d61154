import { describe } from 'node:test';
import { defectTests } from './support/self-test.ts';

describe('self-test: deliberately broken clients, second half', () => defectTests(1));
