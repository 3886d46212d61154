import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLIENT_RUN_MEDIA_TYPE, SILENT_RUN_MEDIA_TYPE } from '../src/grader/attachments.ts';
import { evidenceOf } from '../src/grader/results.ts';
import { couldNotRunReason } from '../src/kit/silent-client.ts';
import { runKit } from './support/kit.ts';

const run = (runId: string) => ({ mediaType: CLIENT_RUN_MEDIA_TYPE, body: JSON.stringify({ runId }) });
const silent = (runId: string) => ({ mediaType: SILENT_RUN_MEDIA_TYPE, body: JSON.stringify({ runId, exit: 'exit code 1 after 30 ms', lastLines: 'boom' }) });

describe('a client that never ran', () => {
  test('is decided over all runs: one silent run among runs that made requests is graded', () => {
    assert.equal(couldNotRunReason([evidenceOf([run('a'), silent('a'), run('b')])]), undefined);
    assert.equal(couldNotRunReason([]), undefined);
    assert.match(
      couldNotRunReason([evidenceOf([run('a'), silent('a'), run('b'), silent('b'), run('a')])]) ?? '',
      /no request in any of its 2 run\(s\).*exit code 1 after 30 ms; the last lines it printed:\nboom/s,
    );
  });

  test('a client whose adapter dies on import: the kit could not run (exit 2), with its traceback, not a failed C-CREATE', async () => {
    const { code, stdout, stderr } = await runKit(['--client', '/usr/bin/python3 -c "import no_such_box_sdk"', '--tags', '@C-CREATE or @C-DIGEST']);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /the kit could not run: the client made no request in any of its \d+ run\(s\)/);
    assert.match(
      stderr,
      /exit code 1 after \d+ ms; the last lines it printed:\nTraceback \(most recent call last\):\n[^]*ModuleNotFoundError: No module named 'no_such_box_sdk'/,
    );
    assert.doesNotMatch(stdout, /verdict: non-conformant/);
  });
});
