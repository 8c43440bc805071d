import { replaceString } from '../asl.ts';
import { lookupResource, type ResourceIndex } from '../definitions.ts';
import type { LocalTaskTokens } from '../task-tokens.ts';
import { type EngineListener, serviceError, type TaskAdapter } from './types.ts';

/** A Lambda handler run in-process with local adapters; throws like the Lambda would. */
export type LocalFunction = (event: unknown) => Promise<unknown>;
/** Handlers by their `releng:function` name: `koji-events`, `approval-request`, … */
export type LocalFunctions = Record<string, LocalFunction>;

/**
 * aws-local-stepfunctions leaves `$$.Task.Token` unset, so the engine passes this placeholder
 * in the context and each `.waitForTaskToken` task swaps in a token minted for it.
 */
export const TASK_TOKEN_PLACEHOLDER = 'local-task-token-placeholder';

/** The functions whose task token a person answers (`releng approve`, `--yes`). */
const WAITS_FOR_A_PERSON = new Set(['approval-request']);

export interface LambdaAdapterOptions {
  index: ResourceIndex;
  functions: LocalFunctions;
  tokens: LocalTaskTokens;
  listener?: EngineListener;
}

export function resolveFunction(options: LambdaAdapterOptions, reference: unknown): [string, LocalFunction] {
  const [, name] = lookupResource(options.index.functions, reference, 'Lambda function');
  const fn = options.functions[name];
  if (!fn) throw serviceError('Lambda.ResourceNotFoundException', `no local handler for function ${name}`);
  return [name, fn];
}

/** Runs a handler, surfacing its error under the error type a Lambda would report. */
async function invoke(name: string, fn: LocalFunction, payload: unknown): Promise<unknown> {
  try {
    return await fn(payload);
  } catch (err) {
    const e = err as Error;
    throw serviceError(e.name && e.name !== 'Error' ? e.name : 'Lambda.Unknown', `${name}: ${e.message}`);
  }
}

/**
 * lambda:invoke calls the handler in-process; with `.waitForTaskToken` it mints a token, hands
 * it to the handler in the payload, and waits until SendTaskSuccess/Failure records an outcome.
 */
export function createLambdaAdapter(options: LambdaAdapterOptions): TaskAdapter {
  return async (input, task) => {
    const [name, fn] = resolveFunction(options, input.FunctionName ?? input.FunctionArn);
    if (task.resource.pattern !== 'wait-for-task-token') {
      const payload = await invoke(name, fn, input.Payload);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: payload ?? null };
    }
    const token = await options.tokens.mint(task.execution, task.state);
    const payload = replaceString(input.Payload, TASK_TOKEN_PLACEHOLDER, token);
    if (JSON.stringify(payload) === JSON.stringify(input.Payload)) {
      throw serviceError('States.Runtime', `${task.state}: the payload does not carry $$.Task.Token`);
    }
    await invoke(name, fn, payload);
    // Host commands also wait on a token; only an approval waits for a person.
    if (WAITS_FOR_A_PERSON.has(name))
      options.listener?.({
        execution: task.execution,
        stateMachine: task.stateMachine,
        kind: 'approval',
        state: task.state,
        message: `waiting for a decision (${name})`,
      });
    return options.tokens.wait(
      token,
      AbortSignal.any([AbortSignal.timeout(task.timeoutSeconds * 1000), task.signal]),
    );
  };
}
