import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BOX_PART_SIZES, casesArbitrary, describeCase, fileSizeArbitrary, generatedCaseArbitrary } from '../src/kit/generated.ts';
import { totalPartsFor } from '../src/protocol/parts.ts';
import { MINIMAL_CLIENT, runKit } from './support/kit.ts';

const GENERATED = ['--tags', '@generated', '--runs', '12', '--seed', '42'];

describe('generated cases', () => {
  test('file sizes hit the edges: exact multiples, one byte either side, single short parts', () => {
    const partSize = 1000;
    const sizes = fc.sample(fileSizeArbitrary(partSize), { numRuns: 400, seed: 7 });
    assert.ok(sizes.every((size) => size >= 1 && size <= 8 * partSize + 1));
    for (const remainder of [0, 1, partSize - 1])
      assert.ok(
        sizes.some((size) => size > partSize && size % partSize === remainder),
        `no size ≡ ${remainder}`,
      );
    assert.ok(sizes.some((size) => size < partSize));
    for (const generated of fc.sample(generatedCaseArbitrary(partSize), { numRuns: 200, seed: 7 })) {
      const parts = totalPartsFor(generated.fileSize, partSize);
      assert.ok(generated.partFaults.every((fault) => fault.part >= 1 && fault.part <= parts));
      assert.equal(new Set(generated.partFaults.map((fault) => fault.part)).size, generated.partFaults.length);
    }
    assert.equal(describeCase({ fileSize: 2000, partFaults: [], commit202s: 0 }, partSize), 'a file of 2000 bytes (exactly 2 part(s) of 1000), no faults');
  });

  test("with --large, cases also draw exact multiples (and one byte either side) of Box's 8 and 32 MiB parts", () => {
    assert.ok(fc.sample(casesArbitrary(false), { numRuns: 200, seed: 3 }).every((generated) => generated.partSize === undefined));
    const cases = fc.sample(casesArbitrary(true), { numRuns: 400, seed: 3 });
    const large = cases.filter((generated) => generated.partSize !== undefined);
    assert.ok(large.length > 100 && large.length < 300, `${large.length} of 400 cases at Box's part sizes`);
    for (const partSize of BOX_PART_SIZES) {
      const sizes = large.filter((generated) => generated.partSize === partSize).map((generated) => generated.fileSize);
      for (const remainder of [0, 1, partSize - 1])
        assert.ok(
          sizes.some((size) => size % partSize === remainder),
          `${partSize}: no size ≡ ${remainder}`,
        );
      assert.ok(sizes.every((size) => size >= partSize - 1 && size <= 3 * partSize + 1));
    }
    assert.equal(
      describeCase({ partSize: 8388608, fileSize: 16777216, partFaults: [], commit202s: 0 }),
      'a file of 16777216 bytes (exactly 2 part(s) of 8388608), no faults',
    );
  });

  test('a client that sends an empty extra part on exact multiples is caught, shrunk to one part, and replays from its seed', async () => {
    const args = ['--client', `${MINIMAL_CLIENT} --defect extra-empty-part`, ...GENERATED];
    const first = await runKit(args);
    const failed = first.report?.rules.filter((rule) => rule.status === 'failed') ?? [];
    assert.ok(
      failed.some((rule) => rule.id === 'C-PART-SIZE'),
      JSON.stringify(failed),
    );
    const evidence = failed.find((rule) => rule.id === 'C-PART-SIZE')?.evidence ?? '';
    assert.match(evidence, /in the smallest case found, a file of 262144 bytes \(exactly 1 part\(s\) of 262144\), no faults: .*an empty part/);
    assert.match(evidence, /replay with --seed 42 --runs 12/);
    assert.equal(first.code, 1);
    const again = await runKit(args);
    assert.deepEqual(
      again.report?.rules.map((rule) => [rule.id, rule.status, rule.evidence]),
      first.report?.rules.map((rule) => [rule.id, rule.status, rule.evidence]),
    );
  });

  test('the reference uploader passes the same generated run', async () => {
    const { code, report, stdout } = await runKit(GENERATED);
    assert.equal(code, 0, stdout);
    const judged = report?.rules.filter((rule) => rule.scenarios.some((name) => name.includes('generated case'))) ?? [];
    assert.equal(judged.length, 15);
    assert.ok(judged.every((rule) => rule.status === 'passed'));
  });
});
