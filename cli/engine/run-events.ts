import type { StateMachine } from 'aws-local-stepfunctions';
import type { StateMachineName } from '../../shared/ports.ts';
import type { EngineListener } from './adapters/types.ts';
import { type AslDefinition, allStates } from './asl.ts';
import type { ExecutionEvent, ExecutionRecord, ExecutionStore } from './execution-store.ts';

type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The flat, stored form of one aws-local-stepfunctions event. */
export function toExecutionEvent(event: EventLog): ExecutionEvent {
  const e = event as EventLog & {
    state?: { name: string; type: string };
    Error?: string;
    Cause?: unknown;
    index?: number;
  };
  const out: ExecutionEvent = { timestamp: new Date(e.timestamp).toISOString(), type: e.type };
  if (e.state) {
    out.state = e.state.name;
    out.stateType = e.state.type;
  }
  if (e.Error !== undefined) out.error = e.Error;
  const cause = text(e.Cause);
  if (cause !== undefined) out.cause = cause;
  if (typeof e.index === 'number') out.index = e.index;
  return out;
}

/**
 * Stores every event as it happens and keeps the record's current states up to date; tells the
 * listener when a Task starts. Resolves with every state failure, in order.
 */
export async function recordEvents(
  store: ExecutionStore,
  name: string,
  machine: StateMachineName,
  definition: AslDefinition,
  events: AsyncGenerator<EventLog>,
  listener?: EngineListener,
): Promise<{ failures: Array<{ state: string; error?: string }> }> {
  const tasks = new Set(
    allStates(definition)
      .filter((s) => s.state.Type === 'Task')
      .map((s) => s.name),
  );
  const passive = new Set(
    allStates(definition)
      .filter((s) => ['Pass', 'Wait', 'Choice'].includes(s.state.Type))
      .map((s) => s.name),
  );
  const current: string[] = [];
  const failures: Array<{ state: string; error?: string }> = [];
  for await (const raw of events) {
    const event = toExecutionEvent(raw);
    await store.appendEvent(name, event);
    if (!event.state) continue;
    if (event.type === 'StateEntered') {
      current.push(event.state);
      if (tasks.has(event.state)) {
        listener?.({
          execution: name,
          stateMachine: machine,
          kind: 'step',
          state: event.state,
          message: event.state,
        });
      }
    } else if (event.type === 'StateExited' || event.type === 'StateFailed' || event.type === 'StateCaught') {
      const at = current.lastIndexOf(event.state);
      if (at >= 0) current.splice(at, 1);
    }
    if (event.type === 'StateFailed')
      failures.push({ state: event.state, ...(event.error ? { error: event.error } : {}) });
    // Only Task and Map/Parallel moves are worth a record write: a poll loop's Pass/Wait/Choice are not.
    if (
      (event.type === 'StateEntered' || event.type === 'StateExited') &&
      event.stateType !== 'Pass' &&
      event.stateType !== 'Wait' &&
      event.stateType !== 'Choice'
    ) {
      const snapshot = current.filter((s) => tasks.has(s) || !passive.has(s));
      await store.update(name, (r) => {
        r.currentStates = snapshot;
      });
    }
  }
  return { failures };
}

/** Status, error and cause of a failed run, from the error aws-local-stepfunctions threw. */
export function failureOf(err: unknown): Pick<ExecutionRecord, 'status' | 'error' | 'cause'> {
  const e = err as Error & { cause?: Error };
  if (e.name === 'ExecutionTimeoutError')
    return { status: 'TIMED_OUT', error: 'States.Timeout', cause: e.message };
  if (e.name === 'ExecutionAbortedError') return { status: 'ABORTED', error: 'Aborted', cause: e.message };
  const inner = e.cause instanceof Error ? e.cause : e;
  return { status: 'FAILED', error: inner.name, cause: inner.message };
}

/**
 * Where a failed execution failed: the first state that failed with the execution's error (the
 * step itself, not the cleanup and Fail states its Catch led to), else the first failure.
 */
export function failedStateOf(
  failures: Array<{ state: string; error?: string }>,
  error?: string,
): string | undefined {
  return (failures.find((f) => f.error === error) ?? failures[0])?.state;
}
