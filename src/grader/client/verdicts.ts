/** Verdict settling: each rule's observation of a run, and who is to blame for what the run did not show. */
import { CLIENT_RULE_IDS, type ClientRuleId } from '../../protocol/rules.ts';
import { type FaultInstruction, type FaultReportEntry, describeFault, persists } from '../../server/faults.ts';
import type { Exchange } from '../../server/recorder.ts';
import type { BlockedRule, Finding, FindingsAttachment } from '../findings.ts';
import { describeExchange, isInjectedRefusal, isRefusal, refusedForStoredPart, storedDespiteFailure } from '../traffic.ts';
import { CLIENT_CHECKS } from './checks.ts';
import { type Draft, type Observation, notApplicable, observed, unobserved } from './observation.ts';
import type { ClientRun, RunJudgement, RunVerdict } from './run.ts';
import { viewOf } from './view.ts';

/** Planned faults that never fired: the scenario could not put the client in the situation it describes. */
export function unfiredFaults(run: ClientRun): FaultReportEntry[] {
  return run.faults.filter((entry) => entry.fired === 0);
}

/** The rules whose situation a fault creates: where it never fires, they cannot be judged. */
function provokedBy({ op, action }: FaultInstruction): ClientRuleId[] {
  if (op === 'create' || op === 'commit') {
    if (action.kind === 'rate-limit') return ['C-RATE-LIMIT'];
    return action.kind === 'retry-later' ? ['C-COMMIT-RETRY-AFTER'] : [];
  }
  switch (action.kind) {
    case 'delay':
      return ['C-PARALLEL-MIN'];
    case 'overlap':
      return ['C-OVERLAP-NOT-PERSISTED', 'C-RETRY-FIRST'];
    default:
      return persists(action) ? ['C-RECOVER-STORED', 'C-RETRY', 'C-RETRY-FIRST'] : ['C-RETRY', 'C-RETRY-FIRST'];
  }
}

/** Rules about the whole run, whatever sessions it opened: every create and request, the exit code, the waits at 429. */
const JUDGED_ACROSS_SESSIONS: ReadonlySet<ClientRuleId> = new Set<ClientRuleId>(['C-CREATE', 'C-AUTH', 'C-SUCCESS-HONEST', 'C-RATE-LIMIT']);

/**
 * Each rule's observation of a run. A client may give up an upload session and upload again in a new one
 * (after a commit answered 410, say): each session's parts, acknowledgements and commits are then judged
 * on their own (bytes sent again in the new session are no overlap, nor a retry of the old one's parts).
 * A rule seen in any session is judged on what every session showed; one seen in none takes what the last
 * session says about it, since the client moved on from the others.
 */
function observeBySession(run: ClientRun): (id: ClientRuleId) => Observation {
  const whole = viewOf(run);
  const sessions = sessionsOf(run.traffic);
  if (sessions.length <= 1) return (id) => CLIENT_CHECKS[id](whole);
  const views = sessions.map((session) => viewOf({ ...run, traffic: run.traffic.filter((exchange) => exchange.sessionId === session) }));
  return (id) => {
    if (JUDGED_ACROSS_SESSIONS.has(id)) return CLIENT_CHECKS[id](whole);
    const each = views.map((view) => CLIENT_CHECKS[id](view));
    const seen = each.filter((observation) => observation.kind === 'observed');
    if (seen.length > 0) return observed(seen.flatMap((observation) => observation.drafts));
    return each.at(-1) ?? CLIENT_CHECKS[id](whole);
  };
}

/** The upload sessions a run used, in the order the client opened (or first named) them. */
function sessionsOf(traffic: readonly Exchange[]): string[] {
  const opens = (exchange: Exchange) => exchange.op === 'create' || exchange.op === 'create-version';
  const created = traffic.filter((exchange) => opens(exchange) && exchange.status === 201);
  const named = traffic.filter((exchange) => !opens(exchange) && exchange.sessionId !== undefined);
  const ids = [...created, ...named].flatMap((exchange) => (exchange.sessionId === undefined ? [] : [exchange.sessionId]));
  return [...new Set(ids)];
}

/**
 * A run in which the client sent the file with Box's single-request upload (POST /files/content) and
 * opened no session: a tool's own choice for a file below its chunked-upload cutoff (rclone's is 50 MiB;
 * Box's guide itself keeps chunked uploads for files of 20 MB and more), not a chunked upload done wrong.
 */
function singleRequestUpload(run: ClientRun): Exchange | undefined {
  if (run.traffic.some((exchange) => exchange.op === 'create')) return undefined;
  return run.traffic.find((exchange) => exchange.op === 'upload');
}

/** Rules a single-request upload still shows: the token it sent, and whether its exit code told the truth. */
const JUDGED_WITHOUT_A_SESSION: ReadonlySet<ClientRuleId> = new Set<ClientRuleId>(['C-AUTH', 'C-SUCCESS-HONEST']);

/**
 * Refusals no finding on the refused request itself explains, traced to what caused them: the earliest
 * request of the same session with a finding, whether the server accepted it or not (a create that
 * declared the wrong file_size is accepted, and the parts that follow it are refused for it). Every rule
 * with a finding on that request explains the stop.
 */
function causesOfRefusals(
  traffic: readonly Exchange[],
  refusals: readonly Exchange[],
  observations: ReadonlyMap<ClientRuleId, Observation>,
): Map<ClientRuleId, Draft> {
  const drafts = [...observations].flatMap(([id, observation]) =>
    observation.kind === 'observed' ? observation.drafts.flatMap((draft) => (draft.about === undefined ? [] : [{ id, draft, about: draft.about }])) : [],
  );
  const explained = new Set(drafts.map(({ about }) => about));
  const bySeq = new Map(traffic.map((exchange) => [exchange.seq, exchange]));
  const stored = storedDespiteFailure(traffic);
  const causes = new Map<ClientRuleId, Draft>();
  for (const refusal of refusals) {
    // A resend refused because the server kept the failed attempt is the fault's doing (C-RECOVER-STORED's situation).
    if (explained.has(refusal.seq) || refusedForStoredPart(refusal, stored)) continue;
    const earlier = drafts.filter(({ about }) => about < refusal.seq && bySeq.get(about)?.sessionId === refusal.sessionId);
    if (earlier.length === 0) continue;
    const earliest = Math.min(...earlier.map(({ about }) => about));
    for (const { id, draft, about } of earlier) if (about === earliest && !causes.has(id)) causes.set(id, draft);
  }
  return causes;
}

/**
 * Judges one run on every client rule. Two passes: each check on its own, then the rules the run could
 * not show are settled against the others' findings, so one root cause is named once:
 * - blocked by the rules with a finding on a request the server refused (or that stopped the run outright);
 * - not applicable when only a fault the scenario injected stopped the client (and the rule accepts that);
 * - failed otherwise: the client stopped although nothing it was told or refused explains it.
 */
export function judgeRun(run: ClientRun, runId: string): RunJudgement {
  const unfired = unfiredFaults(run);
  const single = singleRequestUpload(run);
  const observe = observeBySession(run);
  const observations = new Map<ClientRuleId, Observation>();
  for (const id of CLIENT_RULE_IDS) {
    if (single && !JUDGED_WITHOUT_A_SESSION.has(id)) {
      observations.set(
        id,
        notApplicable(
          `the client sent this ${run.fileSize}-byte file with Box's single-request upload (${describeExchange(single)}), not in an upload session`,
        ),
      );
      continue;
    }
    let observation = observe(id);
    // The situation the rule needs did not arise because a planned fault that creates it never fired: the
    // client never sent that request.
    const missed = unfired.filter(({ instruction }) => provokedBy(instruction).includes(id)).map(({ instruction }) => describeFault(instruction));
    if (observation.kind === 'not-applicable' && missed.length > 0)
      observation = unobserved(`the planned fault (${missed.join('; ')}) never fired because the client never sent that request`);
    observations.set(id, observation);
  }
  const refusals = run.traffic.filter((exchange) => isRefusal(exchange) && !isInjectedRefusal(exchange));
  const injected = run.traffic.filter(isInjectedRefusal);
  const refused = new Set(refusals.map((exchange) => exchange.seq));
  const stoppers = new Map<ClientRuleId, Draft>();
  for (const [id, observation] of observations) {
    if (observation.kind !== 'observed') continue;
    const stopping = observation.drafts.find((draft) => draft.stops === true || (draft.about !== undefined && refused.has(draft.about)));
    if (stopping) stoppers.set(id, stopping);
  }
  for (const [id, draft] of causesOfRefusals(run.traffic, refusals, observations)) if (!stoppers.has(id)) stoppers.set(id, draft);
  const finding = (rule: ClientRuleId, draft: Draft): Finding => ({ rule, run: runId, requests: draft.requests, message: draft.message });
  const verdicts = {} as Record<ClientRuleId, RunVerdict>;
  for (const [id, observation] of observations) {
    if (observation.kind === 'observed') {
      verdicts[id] =
        observation.drafts.length === 0 ? { status: 'passed' } : { status: 'failed', findings: observation.drafts.map((draft) => finding(id, draft)) };
      continue;
    }
    if (observation.kind === 'not-applicable') {
      verdicts[id] = { status: 'not-applicable', reason: observation.reason };
      continue;
    }
    const blockers = [...stoppers.entries()].filter(([other]) => other !== id);
    const [firstBlocker] = blockers;
    if (firstBlocker) {
      verdicts[id] = {
        status: 'blocked',
        blockedBy: blockers.map(([other]) => other).sort(),
        reason: `not judged: ${observation.what}, stopped by ${firstBlocker[0]}: ${firstBlocker[1].message}`,
      };
      continue;
    }
    const [fault] = injected;
    if (observation.excusedByInjectedFaults && fault) {
      verdicts[id] = { status: 'not-applicable', reason: `not judged: ${observation.what}; it stopped after the injected fault "${fault.fault?.description}"` };
      continue;
    }
    const [unexplained] = refusals;
    const message = unexplained
      ? `${observation.what}; it stopped after the server turned down ${describeExchange(unexplained)}`
      : run.exit.timedOut
        ? `${observation.what} before it was killed at the timeout`
        : `${observation.what}, though the server accepted every request it made${injected.length > 0 ? ' but the injected faults' : ''} (exit code ${run.exit.code})`;
    verdicts[id] = { status: 'failed', findings: [finding(id, { requests: unexplained ? [unexplained.seq] : [], message })] };
  }
  return { runId, verdicts, unfired: unfired.map(({ instruction }) => describeFault(instruction)) };
}

/** What a run's judgement contributes to the reports: its findings and blocked rules, as data. */
export function findingsOf(judgement: RunJudgement): FindingsAttachment {
  const findings: Finding[] = [];
  const blocked: BlockedRule[] = [];
  for (const id of CLIENT_RULE_IDS) {
    const verdict = judgement.verdicts[id];
    if (verdict.status === 'failed') findings.push(...verdict.findings);
    if (verdict.status === 'blocked') blocked.push({ rule: id, run: judgement.runId, blockedBy: verdict.blockedBy, reason: verdict.reason });
  }
  return { findings, blocked };
}
