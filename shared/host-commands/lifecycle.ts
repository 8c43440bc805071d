import { TaskTokenGoneError } from '../approvals/decide.ts';
import type { HostOperationName } from '../operations.ts';
import {
  type Clock,
  FINAL_HOST_COMMAND_STATUSES,
  type HostCommandInvocation,
  type HostCommandRecord,
  type HostCommandStore,
  type HostCommands,
  type LockStore,
  type TaskCallbacks,
} from '../ports.ts';
import { describeHostFailure, parseHostResult } from './result.ts';
import {
  checkTaskParameters,
  HOST_COMMAND_ERRORS,
  type HostCommandOutputV1,
  HostCommandRejectedError,
  HostCommandTaskV1,
} from './task.ts';

/**
 * A host command's life, event-driven: the pipeline's task sends it and waits on its task token
 * (a handful of history events however long it runs); SSM's status-change event completes the
 * token; a slow sweep completes any command whose event was lost, keeps the token's heartbeat
 * alive while it runs, and cancels it past its deadline; when an execution is stopped from
 * outside, its commands are cancelled and its locks released.
 */
export interface HostCommandDeps {
  commands: HostCommands;
  store: HostCommandStore;
  callbacks: TaskCallbacks;
  clock: Clock;
}

/** How long SSM may take to deliver a command to the host (SendCommand's TimeoutSeconds). */
export const DELIVERY_TIMEOUT_SECONDS = 3600;
/** A command SSM still does not know this long after sending was never delivered. */
const UNSEEN_GRACE_SECONDS = 15 * 60;

export type Completion = 'not-ours' | 'already-finished' | 'running' | 'succeeded' | 'failed';

/** Sends the task's command and records it against its task token; returns the command id. */
export async function sendHostCommand(deps: HostCommandDeps, input: unknown): Promise<{ commandId: string }> {
  const parsed = HostCommandTaskV1.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HostCommandRejectedError(
      `bad host-command task: ${issue?.path.join('.') || '(task)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const task = parsed.data;
  const operation = task.operation as HostOperationName;
  checkTaskParameters(operation, task.parameters);
  // A retried invoke must not run the operation twice; failing closed is safer than guessing.
  if (!(await deps.store.claimToken(task.taskToken))) {
    throw new HostCommandRejectedError(
      `${task.state}: this task already sent its ${operation} command; not sending it twice`,
    );
  }
  const { commandId } = await deps.commands.send({
    documentName: task.documentName,
    instanceId: task.instanceId,
    parameters: task.parameters,
    comment: `${task.state}`.slice(0, 100),
    deliveryTimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
    ...(task.outputLogGroup ? { outputLogGroup: task.outputLogGroup } : {}),
  });
  const now = deps.clock.now();
  await deps.store.put({
    commandId,
    taskToken: task.taskToken,
    execution: task.execution,
    state: task.state,
    operation,
    instanceId: task.instanceId,
    status: 'RUNNING',
    sentAt: now.toISOString(),
    deadlineAt: new Date(
      now.getTime() + (task.timeoutSeconds + DELIVERY_TIMEOUT_SECONDS) * 1000,
    ).toISOString(),
  });
  // A command that ends at once can raise its status event before the record above exists
  // (the event finds it not ours): look once now, rather than wait for the sweep. It is sent and
  // recorded whatever this look meets (a throttled GetCommandInvocation): the sweep still answers.
  await completeHostCommand(deps, commandId).catch(() => undefined);
  return { commandId };
}

/** Calls back, treating a token that is already gone (decided, timed out, stopped) as done. */
async function callBack(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof TaskTokenGoneError)) throw err;
  }
}

async function report(
  deps: HostCommandDeps,
  record: HostCommandRecord,
  invocation: HostCommandInvocation,
): Promise<Completion> {
  const result = parseHostResult(invocation.stdout);
  if (invocation.status === 'Success' && result && result.ok !== false) {
    const output: HostCommandOutputV1 = { commandId: record.commandId, status: 'Success', output: result };
    await callBack(() =>
      deps.callbacks.succeed(record.taskToken, output as unknown as Record<string, unknown>),
    );
    await deps.store.finish(record.commandId, 'SUCCEEDED', 'Success');
    return 'succeeded';
  }
  const cause =
    invocation.status === 'Success'
      ? `releng-host ${record.operation}: exit 0 but no JSON result on stdout`
      : describeHostFailure(record.operation, invocation);
  const error = invocation.status === 'TimedOut' ? HOST_COMMAND_ERRORS.timedOut : HOST_COMMAND_ERRORS.failed;
  await callBack(() => deps.callbacks.fail(record.taskToken, error, cause));
  await deps.store.finish(
    record.commandId,
    invocation.status === 'Cancelled' ? 'CANCELLED' : 'FAILED',
    cause,
  );
  return 'failed';
}

/**
 * Completes the task of a command that has ended (an SSM status-change event, or the sweep):
 * SendTaskSuccess with releng-host's result, or SendTaskFailure naming the host's failure line.
 * Safe to call twice for one command; a command of someone else's is ignored.
 */
export async function completeHostCommand(deps: HostCommandDeps, commandId: string): Promise<Completion> {
  const record = await deps.store.get(commandId);
  if (!record) return 'not-ours';
  if (record.status !== 'RUNNING') return 'already-finished';
  const invocation = await deps.commands.get(commandId, record.instanceId);
  if (!invocation || !FINAL_HOST_COMMAND_STATUSES.includes(invocation.status)) return 'running';
  return report(deps, record, invocation);
}

export interface SweepReport {
  completed: string[];
  heartbeats: string[];
  cancelled: string[];
}

async function cancelAndFail(
  deps: HostCommandDeps,
  record: HostCommandRecord,
  error: string,
  cause: string,
): Promise<void> {
  // Recorded first, so the cancelled command's own status event finds it finished.
  await deps.store.finish(record.commandId, 'CANCELLED', cause);
  await deps.commands.cancel(record.commandId);
  await callBack(() => deps.callbacks.fail(record.taskToken, error, cause));
}

/**
 * The reconciliation sweep (every few minutes): events are best effort, so every RUNNING
 * command is looked at. An ended one is completed; a running one gets its token's heartbeat,
 * or is cancelled when its execution no longer waits for it or it ran past its deadline.
 */
export async function sweepHostCommands(deps: HostCommandDeps): Promise<SweepReport> {
  const out: SweepReport = { completed: [], heartbeats: [], cancelled: [] };
  const now = deps.clock.now().getTime();
  for (const record of await deps.store.listRunning()) {
    const invocation = await deps.commands.get(record.commandId, record.instanceId);
    if (invocation && FINAL_HOST_COMMAND_STATUSES.includes(invocation.status)) {
      await report(deps, record, invocation);
      out.completed.push(record.commandId);
      continue;
    }
    if (now > Date.parse(record.deadlineAt)) {
      await cancelAndFail(
        deps,
        record,
        HOST_COMMAND_ERRORS.timedOut,
        `releng-host ${record.operation} ran past its deadline ${record.deadlineAt}; cancelled`,
      );
      out.cancelled.push(record.commandId);
      continue;
    }
    if (!invocation && now - Date.parse(record.sentAt) > UNSEEN_GRACE_SECONDS * 1000) {
      await cancelAndFail(
        deps,
        record,
        HOST_COMMAND_ERRORS.failed,
        `releng-host ${record.operation}: SSM has no invocation on ${record.instanceId} ${UNSEEN_GRACE_SECONDS / 60} min after sending`,
      );
      out.cancelled.push(record.commandId);
      continue;
    }
    try {
      await deps.callbacks.heartbeat(record.taskToken);
      out.heartbeats.push(record.commandId);
    } catch (err) {
      if (!(err instanceof TaskTokenGoneError)) throw err;
      // Nobody waits for it any more (the execution ended without a cleanup event): stop it.
      await deps.store.finish(record.commandId, 'CANCELLED', 'its task no longer waits for it');
      await deps.commands.cancel(record.commandId);
      out.cancelled.push(record.commandId);
    }
  }
  return out;
}

export interface CleanupReport {
  cancelledCommands: string[];
  releasedLocks: string[];
}

/**
 * An execution ended from outside (aborted, timed out, failed past its Catch): cancel the host
 * commands it still has running and release the locks it holds, which no Catch did for it.
 */
export async function cleanUpExecution(
  deps: Pick<HostCommandDeps, 'commands' | 'store'> & { locks: LockStore },
  execution: string,
  why: string,
): Promise<CleanupReport> {
  const out: CleanupReport = { cancelledCommands: [], releasedLocks: [] };
  for (const record of await deps.store.listRunning()) {
    if (record.execution !== execution) continue;
    const mine = await deps.store.finish(record.commandId, 'CANCELLED', `execution ${why}`);
    await deps.commands.cancel(record.commandId);
    if (mine) out.cancelledCommands.push(record.commandId);
  }
  for (const lock of await deps.locks.list()) {
    if (lock.owner !== execution) continue;
    await deps.locks.release(lock.name, execution);
    out.releasedLocks.push(lock.name);
  }
  return out;
}
