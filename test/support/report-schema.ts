// The published schema of conformance.json (schema/conformance.schema.json), checked with ajv's JSON
// Schema 2020-12 build. runKit validates every report a test produces against it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ConformanceReport } from '../../src/grader/reports.ts';

export const REPORT_SCHEMA_PATH = fileURLToPath(new URL('../../schema/conformance.schema.json', import.meta.url));

/** A validator for the schema at `path` (the repository's by default, or the copy an installed kit ships). */
export function reportValidator(path = REPORT_SCHEMA_PATH): (report: unknown) => string[] {
  const validate = new Ajv2020({ allErrors: true }).compile(JSON.parse(readFileSync(path, 'utf8')) as object);
  return (report) => (validate(report) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`.trim()));
}

const validateReport = reportValidator();

/** What the schema finds wrong with `report`: one line per problem, empty when it conforms. */
export const reportSchemaErrors = (report: unknown): string[] => validateReport(report);

/** The report, once it matches the schema; otherwise throws naming every mismatch. */
export function validReport(report: unknown, source = 'conformance.json'): ConformanceReport {
  const errors = validateReport(report);
  if (errors.length > 0) throw new Error(`${source} does not match schema/conformance.schema.json:\n  ${errors.join('\n  ')}`);
  return report as ConformanceReport;
}
