import { AsyncLocalStorage } from 'node:async_hooks';
import type { TaskContext } from './types.ts';

/**
 * Which state machine task the code running now serves. The local adapters a Lambda handler
 * calls (the local agent behind HostCommands) use it to file a command's output under the
 * execution and step that sent it, without widening the ports the handlers see.
 */
const scope = new AsyncLocalStorage<TaskContext>();

export function runAsTask<T>(task: TaskContext, fn: () => Promise<T>): Promise<T> {
  return scope.run(task, fn);
}

export function currentTask(): TaskContext | undefined {
  return scope.getStore();
}
