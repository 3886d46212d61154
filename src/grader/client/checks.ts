/**
 * The checks table: each client rule as a pure check over one run's views. A check observes what the run
 * shows of its rule; settling who is to blame for what the run did not show is verdicts.ts's.
 */
import { rangeSize } from '../../protocol/content-range.ts';
import { parseDigest } from '../../protocol/digest.ts';
import { coverageOf, totalPartsFor } from '../../protocol/parts.ts';
import {
  type ClientRuleId,
  ORDER_TOLERANCE_MS,
  PARALLEL_MAX,
  PARALLEL_MIN,
  PARALLEL_MIN_MEAN,
  RETRY_AFTER_SLACK_MS,
  RETRY_FIRST_TOLERANCE_MS,
  SLOW_SERVER_MS,
} from '../../protocol/rules.ts';
import { inFlight } from '../in-flight.ts';
import {
  bodyFullyRead,
  commitParts,
  describeExchange,
  errorCode,
  header,
  isInjectedRefusal,
  isOverlapAnswer,
  isRefusal,
  overlapsAny,
  rangeOf,
  refusedForStoredPart,
  returnedRecords,
  sameRecord,
} from '../traffic.ts';
import { type Draft, type Observation, at, notApplicable, observed, unobserved } from './observation.ts';
import { rangeKey } from './run.ts';
import {
  type RunView,
  firstAttempts,
  followUp,
  judgeCommits,
  judgeParts,
  plansPartFailures,
  retriable,
  retryAfterOf,
  serverAnswersSlowly,
  succeeded,
} from './view.ts';

export type Check = (view: RunView) => Observation;

export const CLIENT_CHECKS: Readonly<Record<ClientRuleId, Check>> = {
  'C-CREATE': ({ run }) => {
    const creates = run.traffic.filter((exchange) => exchange.op === 'create');
    if (creates.length === 0) return observed([{ requests: [], message: 'the client never sent POST …/files/upload_sessions', stops: true }]);
    return observed(
      creates.flatMap((create) => {
        const body = create.requestBody.json as Record<string, unknown> | undefined;
        const where = describeExchange(create);
        if (typeof body !== 'object' || body === null) return [at(create, `${where}: the body is not a JSON object`)];
        const problems: Draft[] = [];
        if (body.folder_id !== run.folderId) problems.push(at(create, `${where}: folder_id is ${JSON.stringify(body.folder_id)}, expected "${run.folderId}"`));
        if (body.file_name !== run.fileName) problems.push(at(create, `${where}: file_name is ${JSON.stringify(body.file_name)}, expected "${run.fileName}"`));
        if (body.file_size !== run.fileSize)
          problems.push(at(create, `${where}: file_size is ${JSON.stringify(body.file_size)}, the file has ${run.fileSize} bytes`));
        return problems;
      }),
    );
  },

  'C-AUTH': ({ run }) => {
    if (run.traffic.length === 0) return unobserved('the client sent no request');
    return observed(
      run.traffic
        .filter((exchange) => exchange.auth !== 'valid')
        .map((exchange) => {
          const sent = header(exchange, 'authorization');
          const how = {
            missing: 'no Authorization header',
            malformed: `Authorization "${sent ?? ''}" is not of the form "Bearer <token>"`,
            'wrong-token': 'a bearer token other than the one given',
          }[exchange.auth as 'missing' | 'malformed' | 'wrong-token'];
          return at(exchange, `${describeExchange(exchange)}: ${how}`);
        }),
    );
  },

  'C-PART-SIZE': (view) =>
    judgeParts(view, (part) => {
      const { run } = view;
      const where = describeExchange(part);
      if (!bodyFullyRead(part)) return part.requestBody.truncated ? `${where}: the body is longer than the part size ${run.partSize}` : undefined;
      const length = part.requestBody.length;
      if (length === 0) return `${where}: an empty part`;
      const range = rangeOf(part);
      const expected = range && range.lo < run.fileSize ? Math.min(run.partSize, run.fileSize - range.lo) : undefined;
      if (expected !== undefined && length !== expected) {
        return `${where}: ${length} bytes; a part at offset ${range?.lo} must have ${expected} (part_size ${run.partSize}, file ${run.fileSize})`;
      }
      if (expected === undefined && length > run.partSize) return `${where}: ${length} bytes, more than part_size ${run.partSize}`;
      return undefined;
    }),

  'C-RANGE-FORMAT': (view) =>
    judgeParts(view, (part) => {
      const where = describeExchange(part);
      const value = header(part, 'content-range');
      const range = rangeOf(part);
      if (!range) return value === undefined ? `${where}: no Content-Range header` : `${where}: Content-Range "${value}" is not "bytes <lo>-<hi>/<total>"`;
      if (!bodyFullyRead(part)) return part.requestBody.truncated ? `${where}: the body is longer than the ${rangeSize(range)} bytes of "${value}"` : undefined;
      if (part.requestBody.length !== rangeSize(range))
        return `${where}: Content-Range "${value}" announces ${rangeSize(range)} bytes, the body has ${part.requestBody.length}`;
      const expected = view.run.rangeSha1?.[rangeKey(range.lo, range.hi)];
      if (expected !== undefined && expected !== part.requestBody.sha1)
        return `${where}: the body is not the file's bytes ${range.lo}-${range.hi} (SHA-1 ${part.requestBody.sha1}, the file's bytes there ${expected})`;
      return undefined;
    }),

  'C-RANGE-ALIGN': (view) =>
    judgeParts(view, (part) => {
      const range = rangeOf(part);
      if (!range || range.lo % view.run.partSize === 0) return undefined;
      return `${describeExchange(part)}: starts at ${range.lo}, not a multiple of part_size ${view.run.partSize}`;
    }),

  'C-RANGE-UPPER': (view) =>
    judgeParts(view, (part) => {
      const { run } = view;
      const range = rangeOf(part);
      if (!range) return undefined;
      const last = range.lo + run.partSize >= run.fileSize;
      const expected = last ? run.fileSize - 1 : range.lo + run.partSize - 1;
      if (range.hi === expected) return undefined;
      return `${describeExchange(part)}: ends at ${range.hi}, expected ${expected} (${last ? 'the last part ends at file size - 1' : 'lo + part_size - 1'})`;
    }),

  'C-RANGE-TOTAL': (view) =>
    judgeParts(view, (part) => {
      const range = rangeOf(part);
      if (!range || range.total === view.run.fileSize) return undefined;
      return `${describeExchange(part)}: Content-Range total ${range.total}, the file has ${view.run.fileSize} bytes`;
    }),

  'C-DIGEST': (view) =>
    judgeParts(view, (part) => {
      const where = describeExchange(part);
      const parsed = parseDigest(header(part, 'digest'));
      const refused = part.parserRefused ? `; the server's HTTP parser refused the request (${part.parserRefused.reason})` : '';
      if (!parsed.ok) return `${where}: ${parsed.reason}${refused}`;
      if (bodyFullyRead(part) && parsed.value.toString('hex') !== part.requestBody.sha1) {
        return `${where}: Digest sha=${parsed.value.toString('base64')} is not the SHA-1 of the body (${Buffer.from(part.requestBody.sha1, 'hex').toString('base64')})`;
      }
      return undefined;
    }),

  'C-CONTENT-TYPE': (view) =>
    judgeParts(view, (part) => {
      const type = header(part, 'content-type');
      if (type?.split(';')[0]?.trim().toLowerCase() === 'application/octet-stream') return undefined;
      return `${describeExchange(part)}: Content-Type ${type === undefined ? 'missing' : `"${type}"`}`;
    }),

  'C-NO-OVERLAP': (view) => {
    if (view.parts.length === 0) return unobserved('the client sent no part');
    return observed([...view.overlapping.values()].map((send) => at([send.exchange, send.earlier], send.message, send.exchange)));
  },

  'C-COVERAGE': (view) =>
    judgeCommits(view, (commit) => {
      const acknowledged = view.acks.filter((ack) => ack.at <= commit.startMs).map((ack) => ack.record);
      const { overlaps } = coverageOf(acknowledged, view.run.fileSize);
      // A hole where the commit lists a range the server refused as an overlap: C-OVERLAP-NOT-PERSISTED names that listing.
      // (Such ranges count as covered here, so that refused neighbours, whose holes merge into one, are all left to it.)
      const listed = (commitParts(commit) ?? []).flatMap((entry) => {
        const span = entry as { offset?: unknown; size?: unknown };
        return typeof span.offset === 'number' && typeof span.size === 'number' ? [{ offset: span.offset, size: span.size }] : [];
      });
      const listedRefused = view.unpersisted.filter((span) => overlapsAny(span, listed));
      const { gaps } = coverageOf([...acknowledged, ...listedRefused], view.run.fileSize);
      const where = describeExchange(commit);
      return [
        ...gaps.map((gap) => at(commit, `${where}: bytes ${gap.offset}-${gap.offset + gap.size - 1} had not been acknowledged`)),
        ...overlaps.map((span) => at(commit, `${where}: bytes from ${span.offset} were acknowledged twice`)),
      ];
    }),

  'C-ORDER': (view) => {
    const firsts = firstAttempts(view);
    if (firsts.length === 0) return unobserved('the client sent no part');
    const drafts: Draft[] = [];
    firsts.forEach((lower, index) => {
      const lowerRange = rangeOf(lower);
      // The earliest first attempt of a higher part that this one trails by more than the tolerance.
      const overtaker = firsts.slice(0, index).find((higher) => {
        const higherRange = rangeOf(higher);
        return lowerRange && higherRange && higherRange.lo > lowerRange.lo && lower.startMs - higher.startMs > ORDER_TOLERANCE_MS;
      });
      if (!overtaker) return;
      const late = (lower.startMs - overtaker.startMs).toFixed(0);
      drafts.push(
        at(
          [overtaker, lower],
          `the part at offset ${lowerRange?.lo} (${describeExchange(lower)}) arrived ${late} ms after the part at offset ${rangeOf(overtaker)?.lo} (${describeExchange(overtaker)}); more than ${ORDER_TOLERANCE_MS} ms is out of order`,
        ),
      );
    });
    return observed(drafts);
  },

  'C-PARALLEL-MAX': (view) => {
    if (view.parts.length === 0) return unobserved('the client sent no part');
    const { peak, peakAt } = inFlight(view.parts);
    if (peak <= PARALLEL_MAX) return observed([]);
    const together = view.parts.filter((part) => part.startMs <= peakAt && part.endMs > peakAt);
    return observed([at(together, `${peak} part uploads were in flight at once; at most ${PARALLEL_MAX}`, null)]);
  },

  'C-PARALLEL-MIN': (view) => {
    const { run } = view;
    if (!serverAnswersSlowly(run)) return notApplicable(`the server did not delay every part answer by ${SLOW_SERVER_MS} ms or more`);
    if (plansPartFailures(run)) return notApplicable('the server injected part failures, and a client waits for a failed part’s retry');
    const total = totalPartsFor(run.fileSize, run.partSize);
    if (total < PARALLEL_MIN) return notApplicable(`the file has fewer than ${PARALLEL_MIN} parts`);
    const acks = [...view.acks].sort((a, b) => a.at - b.at);
    if (acks.length < total - (PARALLEL_MIN - 1)) return unobserved('the client did not upload the parts');
    const start = Math.min(...view.parts.map((part) => part.startMs));
    // Until fewer than PARALLEL_MIN parts remain unacknowledged.
    const end = acks[total - PARALLEL_MIN]?.at ?? start;
    const { mean, peak } = inFlight(view.parts, start, end);
    if (mean >= PARALLEL_MIN_MEAN) return observed([]);
    return observed([
      {
        requests: [],
        message: `while ${PARALLEL_MIN} or more parts remained, ${mean.toFixed(2)} part uploads were in flight on average (peak ${peak}); expected at least ${PARALLEL_MIN_MEAN}`,
      },
    ]);
  },

  'C-RETRY': (view) => {
    const failures = view.parts.filter((part) => retriable(view, part));
    if (failures.length === 0) return notApplicable('no part upload failed with 5xx, 429 or a dropped connection');
    const drafts: Draft[] = [];
    for (const failed of failures) {
      const retry = followUp(view, failed);
      if (!retry) {
        drafts.push({ ...at(failed, `${describeExchange(failed)} was never retried`, null), stops: true });
        continue;
      }
      const retryAfter = failed.status === 429 ? retryAfterOf(failed) : 0;
      const waited = retry.startMs - failed.endMs;
      if (waited + RETRY_AFTER_SLACK_MS < retryAfter * 1000)
        drafts.push(at([failed, retry], `${describeExchange(retry)} came ${waited.toFixed(0)} ms after a 429 with Retry-After ${retryAfter}`, null));
    }
    if (drafts.length > 0 || succeeded(view.run)) return observed(drafts);
    // Retried as it should, then stopped: the injected failure it retried does not excuse that.
    return unobserved('the client retried but did not complete the upload', false);
  },

  'C-RETRY-FIRST': (view) => {
    // An overlap answer for a range the server holds from an earlier, failed attempt is no failure to retry: C-RECOVER-STORED's situation.
    const failures = view.parts.filter(
      (part) => retriable(view, part) || (isOverlapAnswer(part) && !view.overlapping.has(part.seq) && !refusedForStoredPart(part, view.storedDespiteFailure)),
    );
    if (failures.length === 0) return notApplicable('no part upload failed');
    const firsts = firstAttempts(view);
    // The server cannot tell what the client had started or seen when events are closer together than the
    // tolerance: only failures answered that long after the last first attempt before them are judged, and
    // only first attempts arriving that long after the failed answer jump the retry.
    const settled = failures.filter((failed) => {
      const lastArrival = Math.max(...firsts.filter((first) => first.startMs <= failed.endMs).map((first) => first.startMs));
      return failed.endMs - lastArrival >= RETRY_FIRST_TOLERANCE_MS;
    });
    if (settled.length === 0) return notApplicable(`every part failure was answered within ${RETRY_FIRST_TOLERANCE_MS} ms of a part's arrival`);
    const drafts: Draft[] = [];
    for (const failed of settled) {
      const retry = followUp(view, failed);
      const until = retry?.startMs ?? Infinity;
      // A first attempt's recorded start is late by as long as the kit's own event loop was held up just before it.
      const jumped = firsts.find((first) => first.startMs > failed.endMs + RETRY_FIRST_TOLERANCE_MS + (first.startLagMs ?? 0) && first.startMs < until);
      if (jumped)
        drafts.push(at([failed, jumped], `${describeExchange(jumped)} started after ${describeExchange(failed)} failed and before it was retried`, null));
    }
    return observed(drafts);
  },

  'C-OVERLAP-NOT-PERSISTED': (view) => {
    if (!view.parts.some(isOverlapAnswer)) return notApplicable('no part was answered range_overlaps_existing_part');
    // A record the server itself returned (listed, or named as the conflicting part) is a part it holds, not the refused one.
    const returned = returnedRecords(view.run.traffic);
    const drafts: Draft[] = [];
    for (const commit of view.commits) {
      for (const entry of commitParts(commit) ?? []) {
        const span = entry as { offset?: unknown; size?: unknown };
        if (typeof span.offset !== 'number' || typeof span.size !== 'number') continue;
        if (returned.some((record) => sameRecord(entry, record))) continue;
        if (overlapsAny({ offset: span.offset, size: span.size }, view.unpersisted)) {
          const refused = view.parts.filter((part) => {
            const range = rangeOf(part);
            return (
              isOverlapAnswer(part) &&
              range !== undefined &&
              overlapsAny({ offset: range.lo, size: rangeSize(range) }, [{ offset: span.offset as number, size: span.size as number }])
            );
          });
          drafts.push(
            at(
              [commit, ...refused],
              `${describeExchange(commit)} lists ${JSON.stringify(entry)}, a range the server answered range_overlaps_existing_part and never acknowledged`,
              commit,
            ),
          );
        }
      }
    }
    return observed(drafts);
  },

  'C-COMMIT-PARTS': (view) =>
    judgeCommits(view, (commit) => {
      const where = describeExchange(commit);
      const listed = commitParts(commit);
      if (!listed) return [at(commit, `${where}: the body has no "parts" array`)];
      // A listed range the server refused as an overlap is C-OVERLAP-NOT-PERSISTED's finding.
      const own = listed.filter((entry) => {
        const span = entry as { offset?: unknown; size?: unknown };
        return !(typeof span.offset === 'number' && typeof span.size === 'number' && overlapsAny({ offset: span.offset, size: span.size }, view.unpersisted));
      });
      const drafts: Draft[] = [];
      for (const ack of view.acks.filter((known) => known.at <= commit.startMs)) {
        const count = own.filter((entry) => sameRecord(entry, ack.record)).length;
        if (count === 0)
          drafts.push(at([ack.exchange, commit], `${where}: the part the server returned as ${JSON.stringify(ack.record)} is not listed as returned`, commit));
        if (count > 1) drafts.push(at([ack.exchange, commit], `${where}: part ${ack.record.part_id} is listed ${count} times`, commit));
      }
      for (const entry of own) {
        if (!view.acks.some((ack) => sameRecord(entry, ack.record)))
          drafts.push(at(commit, `${where}: lists ${JSON.stringify(entry)}, not a part record the server returned`));
      }
      return drafts;
    }),

  'C-COMMIT-SORTED': (view) =>
    judgeCommits(view, (commit) => {
      const offsets = (commitParts(commit) ?? []).map((entry) => (entry as { offset?: unknown }).offset);
      const unsorted = offsets.findIndex((offset, index) => index > 0 && Number(offset) < Number(offsets[index - 1]));
      return unsorted < 0
        ? []
        : [at(commit, `${describeExchange(commit)}: parts are not sorted by offset (${offsets.slice(0, 6).join(', ')}${offsets.length > 6 ? ', …' : ''})`)];
    }),

  'C-COMMIT-DIGEST': (view) =>
    judgeCommits(view, (commit) => {
      const parsed = parseDigest(header(commit, 'digest'));
      if (!parsed.ok) return [at(commit, `${describeExchange(commit)}: ${parsed.reason}`)];
      if (parsed.value.toString('hex') !== view.run.fileSha1) {
        return [
          at(
            commit,
            `${describeExchange(commit)}: Digest sha=${parsed.value.toString('base64')} is not the whole file's SHA-1 (${Buffer.from(view.run.fileSha1, 'hex').toString('base64')})`,
          ),
        ];
      }
      return [];
    }),

  'C-COMMIT-RETRY-AFTER': (view) => {
    const accepted = view.commits.filter((commit) => commit.status === 202);
    if (accepted.length === 0) return notApplicable('no commit was answered 202');
    const drafts: Draft[] = [];
    for (const answer of accepted) {
      const retryAfter = retryAfterOf(answer);
      const next = view.commits.find((commit) => commit.seq > answer.seq && commit.startMs >= answer.endMs);
      if (!next) {
        drafts.push({ ...at(answer, `after ${describeExchange(answer)} with Retry-After ${retryAfter}, the client never committed again`, null), stops: true });
        continue;
      }
      const waited = next.startMs - answer.endMs;
      if (waited + RETRY_AFTER_SLACK_MS < retryAfter * 1000)
        drafts.push(at([answer, next], `${describeExchange(next)} came ${waited.toFixed(0)} ms after a 202 with Retry-After ${retryAfter}`, null));
    }
    return observed(drafts);
  },

  'C-SUCCESS-HONEST': ({ run, commits }) => {
    if (run.exit.timedOut)
      return observed([{ requests: [], message: 'the client was killed at the timeout without reporting success or failure', stops: true }]);
    const ok = succeeded(run);
    const exitedZero = run.exit.code === 0;
    if (exitedZero && !ok) {
      const last = commits.at(-1);
      const why = last ? `the last commit was answered ${last.status}${errorCode(last) ? ` ${errorCode(last)}` : ''}` : 'it never committed';
      return observed([{ requests: last ? [last.seq] : [], message: `the client exited 0, but ${why}; no intact file was stored` }]);
    }
    if (!exitedZero && ok) return observed([{ requests: [], message: `the file was committed intact, but the client exited ${run.exit.code}` }]);
    return observed([]);
  },

  'C-RATE-LIMIT': (view) => {
    const calls = view.run.traffic.filter((exchange) => exchange.op === 'create' || exchange.op === 'create-version' || exchange.op === 'commit');
    const limited = calls.filter((exchange) => exchange.status === 429);
    if (limited.length === 0) return notApplicable('no create or commit was answered 429');
    const drafts: Draft[] = [];
    for (const answer of limited) {
      const retryAfter = retryAfterOf(answer);
      const next = calls.find((call) => call.op === answer.op && call.seq > answer.seq && call.startMs >= answer.endMs);
      if (!next) {
        // The client gave up at the 429: that is why the run went no further.
        drafts.push({
          ...at(answer, `after ${describeExchange(answer)} with Retry-After ${retryAfter}, the client never sent the ${answer.op} again`, null),
          stops: true,
        });
        continue;
      }
      const waited = next.startMs - answer.endMs;
      if (waited + RETRY_AFTER_SLACK_MS < retryAfter * 1000)
        drafts.push(at([answer, next], `${describeExchange(next)} came ${waited.toFixed(0)} ms after a 429 with Retry-After ${retryAfter}`, null));
    }
    return observed(drafts);
  },

  'C-RECOVER-STORED': (view) => {
    if (view.storedDespiteFailure.length === 0) return notApplicable('no part was stored although its answer failed');
    const { run } = view;
    // A stored part that is not the file's bytes at its range: no commit gives the file, and C-RANGE-FORMAT names the part.
    const wrongBytes = view.storedDespiteFailure.find(({ record }) => {
      const fileBytes = run.rangeSha1?.[rangeKey(record.offset, record.offset + record.size - 1)];
      return fileBytes !== undefined && fileBytes !== record.sha1;
    });
    if (wrongBytes)
      return unobserved(
        `the server stored ${describeExchange(wrongBytes.exchange)} as ${JSON.stringify(wrongBytes.record)}, not the file's bytes at that range`,
      );
    const drafts: Draft[] = [];
    let unseen: string | undefined;
    for (const { exchange: failed, record } of view.storedDespiteFailure) {
      const span = { offset: record.offset, size: record.size };
      const listedThere = view.commits.flatMap((commit) =>
        (commitParts(commit) ?? []).filter((entry) => {
          const { offset, size } = entry as { offset?: unknown; size?: unknown };
          return typeof offset === 'number' && typeof size === 'number' && overlapsAny({ offset, size }, [span]);
        }),
      );
      if (listedThere.some((entry) => sameRecord(entry, record))) continue;
      const where = `${describeExchange(failed)}, although the server stored it as ${JSON.stringify(record)}`;
      // Never followed up: C-RETRY's finding. Committed with another record or none for the range: the commit rules name it.
      if (!followUp(view, failed)) {
        unseen ??= `the client did nothing about ${where}`;
        continue;
      }
      if (view.commits.length > 0) {
        unseen ??= `the client committed ${listedThere.length > 0 ? 'a record the server never returned' : 'no record'} for ${where}`;
        continue;
      }
      // Stopped for another reason: a request the server refused that has nothing to do with the stored part.
      const other = run.traffic.find(
        (exchange) => isRefusal(exchange) && !isInjectedRefusal(exchange) && !refusedForStoredPart(exchange, view.storedDespiteFailure),
      );
      if (other) {
        unseen ??= `the client never committed; it stopped after the server turned down ${describeExchange(other)}`;
        continue;
      }
      const resent = view.parts.filter((part) => part.seq > failed.seq && rangeOf(part)?.lo === record.offset);
      const listed = run.traffic.some((exchange) => exchange.op === 'list' && exchange.seq > failed.seq);
      const tried = [
        resent.length > 0 ? `resent it ${resent.length} time(s) (${describeExchange(resent.at(-1) ?? failed)})` : '',
        listed ? 'listed the parts' : '',
      ]
        .filter(Boolean)
        .join(' and ');
      const end = run.exit.timedOut ? 'was killed at the timeout' : `exited ${run.exit.code}`;
      drafts.push({
        ...at([failed, ...resent], `${where}: the client ${tried}, but never committed that record and ${end}`, null),
        stops: true,
      });
    }
    if (drafts.length > 0) return observed(drafts);
    return unseen ? unobserved(unseen) : observed([]);
  },
};
