import type { StateMachineName } from '../../../shared/ports.ts';
import type { TaskResource } from '../asl.ts';

/** Where a Task runs: which execution and state, so adapters can log and mint tokens for it. */
export interface TaskContext {
  execution: string;
  stateMachine: StateMachineName;
  state: string;
  resource: TaskResource;
  timeoutSeconds: number;
  /** Aborted when the execution is stopped: a waiting adapter gives up then. */
  signal: AbortSignal;
}

/** Serves one kind of Task resource: takes the input after Parameters, returns the raw result. */
export type TaskAdapter = (input: Record<string, unknown>, task: TaskContext) => Promise<unknown>;

/** What the engine reports as it goes: `releng` prints these on a terminal. */
export interface EngineEvent {
  execution: string;
  stateMachine?: StateMachineName;
  kind: 'phase' | 'started' | 'step' | 'progress' | 'notification' | 'approval' | 'finished';
  state?: string;
  message: string;
}

export type EngineListener = (event: EngineEvent) => void;

/** An error whose `name` is what a Catch/Retry in the state machine matches. */
export function serviceError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

export function requireString(input: Record<string, unknown>, key: string, task: TaskContext): string {
  const value = input[key];
  if (typeof value !== 'string' || value === '') {
    throw serviceError(
      'States.Runtime',
      `${task.state}: ${task.resource.service}:${task.resource.action} needs ${key}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
