import type { KojiTagChange, TagListingRow } from './koji-poll/history.ts';
import type { ApprovalResultV1, PendingApprovalV1, StagingReadyV1 } from './messages/promotion.ts';

/**
 * The outside world as the domain logic sees it. AWS adapters live in functions/, local ones
 * in cli/; domain code never knows which it has.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface LockHolder {
  owner: string;
  expiresAt: string;
}

/** Named locks that expire on their own, so a dead owner cannot block forever. */
export interface LockStore {
  /** Takes `name` for `owner` unless someone else holds it unexpired. Re-entrant for the same owner. */
  acquire(
    name: string,
    owner: string,
    ttlSeconds: number,
  ): Promise<{ acquired: boolean; holder?: LockHolder }>;
  /** Releases `name` if `owner` holds it; releasing a lock one does not hold is a no-op. */
  release(name: string, owner: string): Promise<void>;
  /** The unexpired holder of `name`, if any. */
  holder(name: string): Promise<LockHolder | undefined>;
  list(): Promise<Array<LockHolder & { name: string }>>;
}

/** A lock item as stored, expired or not (`releng locks` shows both). */
export interface LockRecord extends LockHolder {
  name: string;
  expired: boolean;
}

/** Who freed which lock by hand, and why (`releng unlock`). */
export interface LockAuditEntry {
  at: string;
  action: 'unlock';
  lock: string;
  /** The execution that held it. */
  owner: string;
  /** The user who freed it. */
  by: string;
  reason: string;
  /** Freed with --force while its holder still ran. */
  forced: boolean;
  /** What the holder was when it was freed: `ABORTED (EngineGone)`, `RUNNING`, … */
  holderState: string;
}

/** The operator's side of the lock table: see every lock, free one by hand, keep an audit trail. */
export interface LockAdmin {
  records(): Promise<LockRecord[]>;
  /** Deletes the lock only while `owner` still holds it: false when it was released or taken over. */
  releaseOwned(name: string, owner: string): Promise<boolean>;
  recordAudit(entry: LockAuditEntry): Promise<void>;
  /** Oldest first. */
  auditTrail(): Promise<LockAuditEntry[]>;
}

export interface ApprovalStore {
  put(approval: PendingApprovalV1): Promise<void>;
  get(approvalId: string): Promise<PendingApprovalV1 | undefined>;
  /**
   * Moves a PENDING approval to its outcome, keeping `decision` (who, when, why) when given;
   * false when it was no longer PENDING (decided twice).
   */
  decide(
    approvalId: string,
    outcome: ApprovalResultV1['outcome'],
    decision?: ApprovalResultV1,
  ): Promise<boolean>;
  listPending(): Promise<PendingApprovalV1[]>;
}

export interface Notifier {
  publish(subject: string, message: string): Promise<void>;
}

export type StateMachineName = 'compose' | 'staging' | 'promotion' | 'minor-release';

/** Step Functions execution states. */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

export interface ExecutionStarter {
  /** Starts `name` once: `started: false` when an execution of that name already exists. */
  start(
    stateMachine: StateMachineName,
    name: string,
    input: unknown,
  ): Promise<{ executionId: string; started: boolean }>;
  /**
   * Status of the execution `name`, undefined when none exists. Optional: without it intake
   * coalesces by execution name only.
   */
  status?(stateMachine: StateMachineName, name: string): Promise<ExecutionStatus | undefined>;
}

/** A compose execution intake started for a lane, with the digest of the NVR set it was asked for. */
export interface LaneCompose {
  executionName: string;
  nvrDigest: string;
  startedAt: string;
}

/** What intake remembers per lane (koji tags map to lanes; see shared/lanes.ts). */
export interface LaneState {
  laneId: string;
  /** NVRs tagged into the lane's koji tags, as told by tag/untag events, sorted. */
  nvrs: string[];
  /** Composes intake started, newest last (a few are kept). */
  started: LaneCompose[];
  /** NVR-set digest of the last compose known to have succeeded. */
  succeededDigest?: string;
}

export interface LaneStateStore {
  get(laneId: string): Promise<LaneState | undefined>;
  /** Adds and removes NVRs atomically (adding a present one is a no-op) and returns the new state. */
  applyTagChanges(laneId: string, add: string[], remove: string[]): Promise<LaneState>;
  recordStarted(laneId: string, compose: LaneCompose): Promise<void>;
  recordSucceeded(laneId: string, nvrDigest: string): Promise<void>;
  /**
   * Everyone whose tag change a compose took in, across every intake batch that joined it
   * (a set: adding one twice is a no-op). Keyed by the compose execution's name.
   */
  addRequesters(executionName: string, users: string[]): Promise<void>;
  requesters(executionName: string): Promise<string[]>;
}

/**
 * Step Functions task-token callbacks (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat).
 * Each throws TaskTokenGoneError when the token no longer has a waiting task.
 */
export interface TaskCallbacks {
  succeed(taskToken: string, output: ApprovalResultV1 | Record<string, unknown>): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
  heartbeat(taskToken: string): Promise<void>;
}

/** SSM Run Command's statuses for one invocation (GetCommandInvocation `Status`). */
export type HostCommandStatus =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'Cancelling'
  | 'TimedOut'
  | 'Failed';

/** The statuses after which an invocation never changes again. */
export const FINAL_HOST_COMMAND_STATUSES: readonly HostCommandStatus[] = [
  'Success',
  'Cancelled',
  'TimedOut',
  'Failed',
];

export interface HostCommandRequest {
  /** The SSM Command document (name or ARN) of one releng-host operation. */
  documentName: string;
  instanceId: string;
  /** SSM's shape: every value a list of strings. */
  parameters: Record<string, string[]>;
  comment?: string;
  /** Seconds the command may wait for delivery to the host. */
  deliveryTimeoutSeconds?: number;
  /** Where the agent streams the command's output (CloudWatch Logs group), if anywhere. */
  outputLogGroup?: string;
}

/** One invocation as GetCommandInvocation reports it: output cut to the first 24,000/8,000 chars. */
export interface HostCommandInvocation {
  commandId: string;
  instanceId: string;
  status: HostCommandStatus;
  statusDetails: string;
  /** The script's exit code; -1 while it runs. */
  responseCode: number;
  stdout: string;
  stderr: string;
}

/** SSM Run Command on the compose hosts (AWS), or the local agent that stands in for it. */
export interface HostCommands {
  send(request: HostCommandRequest): Promise<{ commandId: string }>;
  /** Undefined while SSM has no invocation yet (InvocationDoesNotExist). */
  get(commandId: string, instanceId: string): Promise<HostCommandInvocation | undefined>;
  /** Stops the command on every host it runs on (the agent kills its process tree). */
  cancel(commandId: string): Promise<void>;
}

/** Secrets Manager's GetSecretValue, or a file under the local root. */
export interface SecretSource {
  /** The secret's string value; throws naming the secret when it does not exist. */
  getSecretString(name: string): Promise<string>;
}

/** A host command the pipeline waits for, as the state table keeps it. */
export interface HostCommandRecord {
  commandId: string;
  taskToken: string;
  /** `$$.Execution.Id` of the execution that sent it. */
  execution: string;
  state: string;
  operation: string;
  instanceId: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  sentAt: string;
  /** Past this the sweep cancels it: the operation's time limit plus delivery. */
  deadlineAt: string;
  finishedAt?: string;
  /** The failure line or the reason it was cancelled. */
  outcome?: string;
}

/** Where host commands wait for their completion event (the state table on AWS and locally). */
export interface HostCommandStore {
  /** Records that this task token sends its command; false when it already did (a retried invoke). */
  claimToken(taskToken: string): Promise<boolean>;
  put(record: HostCommandRecord): Promise<void>;
  get(commandId: string): Promise<HostCommandRecord | undefined>;
  listRunning(): Promise<HostCommandRecord[]>;
  /** RUNNING → `status`, once: false when something else finished it first. */
  finish(
    commandId: string,
    status: Exclude<HostCommandRecord['status'], 'RUNNING'>,
    outcome: string,
  ): Promise<boolean>;
}

/** A koji hub's XML-RPC API, as far as the poller reads it (koji/hub/kojihub.py). */
export interface KojiHub {
  /** `getLastEvent()`: the newest event the hub has committed. */
  lastEvent(): Promise<{ id: number; ts: number }>;
  /** `queryHistory(tables=['tag_listing'], afterEvent, beforeEvent)`: rows touched in between. */
  tagListingHistory(afterEvent: number, beforeEvent: number): Promise<TagListingRow[]>;
}

/** Thrown when a checkpoint is not where the caller read it: another poll moved it. */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
}

/** The last koji event the poller has enqueued everything up to, per hub. */
export interface KojiCheckpointStore {
  get(hub: string): Promise<number | undefined>;
  /** Moves the checkpoint from `from` (undefined: none yet) to `to`; CheckpointMovedError otherwise. */
  advance(hub: string, from: number | undefined, to: number): Promise<void>;
}

/** The koji queue, as the poller writes to it. */
export interface KojiEventQueue {
  /**
   * Sends each change once, in order, whatever the number of calls: a change whose key was
   * sent before is skipped. Throws if any change could not be sent.
   */
  enqueue(changes: readonly KojiTagChange[]): Promise<{ sent: number; skipped: number }>;
}

/** A batch of staged releases one promotion publishes (shared/approvals/batch.ts). */
export interface PromotionBatch {
  batchId: string;
  /** Closed by its promotion after the window: nothing joins it any more. */
  closed: boolean;
  openedAt: string;
  /** By release key (releaseKey), so a redelivered message cannot add its release twice. */
  releases: Record<string, StagingReadyV1>;
}

/**
 * The state table's promotion batches: one open batch at a time (a pointer item names it), one
 * item per batch, and one claim per release key naming the batch it joined. Every write is
 * conditional, so concurrent handlers agree on one batch and a release joins one batch once.
 */
export interface PromotionBatchStore {
  /** The batch the pointer names (open or already closed), if any. */
  openBatchId(): Promise<string | undefined>;
  get(batchId: string): Promise<PromotionBatch | undefined>;
  /**
   * Creates the empty batch `batchId` and points the pointer at it, only while the pointer still
   * names `previous` (none: no pointer yet); false when another handler moved it first.
   */
  open(batchId: string, previous: string | undefined, openedAt: Date): Promise<boolean>;
  /** Adds the release under `key` unless the batch is closed, missing or has it: false then. */
  addRelease(batchId: string, key: string, release: StagingReadyV1): Promise<boolean>;
  /**
   * The batch `key` is claimed for: `batchId` if it was unclaimed, else the earlier claim's;
   * undefined when that claim was dropped in between (try again).
   */
  claim(key: string, batchId: string): Promise<string | undefined>;
  /** Drops the claim of `key` if it still names `batchId`. */
  unclaim(key: string, batchId: string): Promise<void>;
  /** Closes the batch (the promotion state machine does this itself) and returns it. */
  close(batchId: string): Promise<PromotionBatch | undefined>;
}
