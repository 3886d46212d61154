import { describe } from 'node:test';
import { defectTests } from './support/self-test.ts';

describe('self-test: deliberately broken clients, first half', () => defectTests(0));
