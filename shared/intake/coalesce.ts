import { joinRequesters } from '../approvals/identity.ts';
import type { ReleaseConfig } from '../config/schema.ts';
import { type Lane, laneLockName } from '../lanes.ts';
import { ComposeRequestV1 } from '../messages/compose-request.ts';
import type { Clock, ExecutionStarter, LaneState, LaneStateStore, LockStore } from '../ports.ts';
import { followUpExecutionName, nvrSetDigest, secondsLeftInWindow, windowExecutionName } from './names.ts';
import type { LaneChange } from './parse.ts';

export interface IntakeDeps {
  config: ReleaseConfig;
  lanes: LaneStateStore;
  locks: LockStore;
  starter: ExecutionStarter;
  clock: Clock;
}

/**
 * What intake did for one lane:
 * - started: a new compose execution was started;
 * - follow-up: a compose of the lane is running, the one compose after it was started;
 * - coalesced: an execution covering these events already exists (same window, or started but
 *   not yet composing);
 * - skipped: nothing to compose, the lane's NVR set is what was (or is being) composed.
 */
export type LaneAction = 'started' | 'follow-up' | 'coalesced' | 'skipped';

export interface LaneOutcome {
  laneId: string;
  action: LaneAction;
  /** The execution started or coalesced into; absent when skipped. */
  executionName?: string;
  reason: string;
  nvrDigest: string;
  events: number;
}

/** The last change of each NVR wins: tag then untag of one build is no change at all. */
function netChanges(changes: readonly LaneChange[]): { add: string[]; remove: string[] } {
  const last = new Map<string, LaneChange['change']>();
  for (const c of changes) last.set(c.nvr, c.change);
  const add: string[] = [];
  const remove: string[] = [];
  for (const [nvr, change] of last) (change === 'tag' ? add : remove).push(nvr);
  return { add, remove };
}

function composeRequest(
  config: ReleaseConfig,
  lane: Lane,
  changes: readonly LaneChange[],
  executionName: string,
  quietSeconds: number,
): ComposeRequestV1 {
  const tags = [...new Set(changes.map((c) => c.tag))].join(', ');
  const listed = changes
    .slice(0, 20)
    .map((c) => `${c.change} ${c.nvr}`)
    .join(', ');
  const more = changes.length > 20 ? ` and ${changes.length - 20} more` : '';
  const reason = `koji: ${changes.length} change(s) in ${tags}: ${listed}${more}`.slice(0, 1000);
  return ComposeRequestV1.parse({
    version: 1,
    major: lane.major,
    channel: 'stable',
    composes: [{ name: lane.compose, kind: 'updates' }],
    sigs: config.majors[lane.major]?.sigsStagedWith[lane.compose] ?? [],
    // Everyone whose tag change is in this compose asked for it: none may approve it alone.
    requestedBy: joinRequesters(changes.map((c) => c.user)),
    reason,
    quietSeconds,
    requestId: executionName,
  });
}

/**
 * The execution name of a lock owner: the state machines take locks with `$$.Execution.Id`
 * (`arn:aws:states:…:execution:<machine>:<name>`), people and tests with a bare name.
 */
function executionNameOf(owner: string | undefined): string | undefined {
  return owner?.startsWith('arn:') ? owner.split(':').at(-1) : owner;
}

/** Finds out whether the last compose intake started has succeeded, remembering it if so. */
async function lastComposeStatus(deps: IntakeDeps, state: LaneState) {
  const last = state.started.at(-1);
  if (!last || !deps.starter.status)
    return { last, status: undefined, succeededDigest: state.succeededDigest };
  const status = await deps.starter.status('compose', last.executionName);
  let succeededDigest = state.succeededDigest;
  if (status === 'SUCCEEDED' && succeededDigest !== last.nvrDigest) {
    await deps.lanes.recordSucceeded(state.laneId, last.nvrDigest);
    succeededDigest = last.nvrDigest;
  }
  return { last, status, succeededDigest };
}

/**
 * Applies one lane's koji changes and starts at most one compose for them. The lane lock holder
 * (the compose state machine takes `lane:<lane>` with its execution id as owner) is the compose
 * that is composing now; a compose started but not yet holding the lock has not read koji yet,
 * so later events ride along with it.
 */
export async function coalesceLane(
  deps: IntakeDeps,
  lane: Lane,
  laneKey: string,
  changes: readonly LaneChange[],
): Promise<LaneOutcome> {
  const { add, remove } = netChanges(changes);
  const state = await deps.lanes.applyTagChanges(laneKey, add, remove);
  const nvrDigest = nvrSetDigest(state.nvrs);
  const outcome = (action: LaneAction, reason: string, executionName?: string): LaneOutcome => ({
    laneId: laneKey,
    action,
    reason,
    nvrDigest,
    events: changes.length,
    ...(executionName ? { executionName } : {}),
  });

  const holder = executionNameOf((await deps.locks.holder(laneLockName(lane)))?.owner);
  const { last, status, succeededDigest } = await lastComposeStatus(deps, state);
  const users = [...new Set(changes.map((c) => c.user))];
  if (last && status === 'RUNNING' && holder !== last.executionName) {
    // These builds ride along with a compose a batch before this one started: their taggers
    // request it too, though its input already names the first batch's.
    await deps.lanes.addRequesters(last.executionName, users);
    return outcome(
      'coalesced',
      `${last.executionName} is started and has not begun composing`,
      last.executionName,
    );
  }

  let name: string;
  // A window's compose waits out the window; a follow-up already waits for the running compose.
  let quietSeconds = 0;
  if (holder) {
    const composing = state.started.find((s) => s.executionName === holder);
    if (composing?.nvrDigest === nvrDigest) {
      return outcome('skipped', `the running compose ${holder} already has this NVR set`);
    }
    name = followUpExecutionName(lane, holder);
  } else {
    if (nvrDigest === succeededDigest) {
      return outcome('skipped', 'the tagged NVR set is unchanged since the last successful compose');
    }
    name = windowExecutionName(lane, deps.clock.now(), deps.config.intake.quietWindowSeconds);
    quietSeconds = secondsLeftInWindow(deps.clock.now(), deps.config.intake.quietWindowSeconds);
  }

  const { started } = await deps.starter.start(
    'compose',
    name,
    composeRequest(deps.config, lane, changes, name, quietSeconds),
  );
  await deps.lanes.addRequesters(name, users);
  if (!state.started.some((s) => s.executionName === name)) {
    await deps.lanes.recordStarted(laneKey, {
      executionName: name,
      nvrDigest,
      startedAt: deps.clock.now().toISOString(),
    });
  }
  if (!started) return outcome('coalesced', `${name} already exists`, name);
  return holder
    ? outcome('follow-up', `runs after ${holder}, which is composing`, name)
    : outcome('started', `new changes since the last successful compose`, name);
}
