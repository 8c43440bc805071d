import './polyfill.ts';
import { join, resolve } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { ENDED_FROM_OUTSIDE } from '../../shared/host-commands/events.ts';
import { REGEX } from '../../shared/patterns.ts';
import type { ExecutionStarter, Notifier, StateMachineName } from '../../shared/ports.ts';
import { LocalAgent } from '../agent/index.ts';
import { createDynamoDbAdapter } from './adapters/dynamodb.ts';
import { LocalHostCommands } from './adapters/host-commands.ts';
import { createLambdaAdapter, type LocalFunctions, TASK_TOKEN_PLACEHOLDER } from './adapters/lambda.ts';
import {
  createSnsAdapter,
  createSqsAdapter,
  type LocalSqsMessage,
  LogNotifier,
} from './adapters/messaging.ts';
import { createStartExecutionAdapter, executionArn } from './adapters/states.ts';
import { runAsTask } from './adapters/task-scope.ts';
import type { EngineListener, TaskAdapter, TaskContext } from './adapters/types.ts';
import { type AslDefinition, type TaskResource, taskStates, UnservedResourceError } from './asl.ts';
import { ENGINE_ASL_CHECKS, wasChecked } from './asl-validation.ts';
import type { EngineDefinitions } from './definitions.ts';
import { type ExecutionRecord, ExecutionStore } from './execution-store.ts';
import { LocalEvents } from './local-events.ts';
import { failedStateOf, failureOf, recordEvents } from './run-events.ts';
import { LocalTaskTokens } from './task-tokens.ts';
import { retryIntervals, waitOverrides } from './timing.ts';

export interface LocalEngineOptions {
  /** The local root: mounts under `mnt/`, engine state under `engine/`. */
  root: string;
  definitions: EngineDefinitions;
  /** The Lambda handlers, built with local adapters; they may start executions on this engine. */
  functions?: (engine: LocalEngine) => LocalFunctions;
  /** The environment host commands start from (the local agent adds RELENG_HOST_ROOT). */
  env?: NodeJS.ProcessEnv;
  /**
   * Milliseconds between reconciliation sweeps of running host commands while executions run
   * (default 5 s); the sweep catches a completion whose event was lost or came before the
   * command was recorded, as the scheduled sweep does on AWS (every 5 minutes there).
   */
  sweepMs?: number;
  listener?: EngineListener;
  /** Where SNS notifications go (default `engine/notifications.log`). */
  notifier?: Notifier;
  /**
   * Milliseconds each Wait state lasts locally (default DEFAULT_WAIT_MS): shortened, never
   * skipped. aws-local-stepfunctions overrides a Wait with one constant, so a loop that counts
   * its waits' seconds toward a deadline (the host-command poll loop) reaches it after a number
   * of iterations: this must leave the fastest-timing-out host operation time to finish.
   */
  waitMs?: number;
  /** Milliseconds named Wait states last instead (the promotion's coalescing window). */
  waitMsByState?: Record<string, number>;
  /** Local retry interval = IntervalSeconds × this many milliseconds (default 20). */
  retryMsPerSecond?: number;
}

/**
 * The local length of a Wait. The poll loop's shortest deadline (a 2 h operation + 1 h) is about
 * 22 of its backoff waits: 11 s of real time at 500 ms, ample for a local sign or errata step.
 */
export const DEFAULT_WAIT_MS = 500;

export { executionArn } from './adapters/states.ts';

/** The `$$` context object a state reads: execution, state machine, task token and state. */
function executionContext(machine: StateMachineName, name: string, input: unknown) {
  return {
    Execution: {
      Id: executionArn(machine, name),
      Name: name,
      StartTime: new Date().toISOString(),
      Input: input as never,
    },
    StateMachine: { Id: `arn:aws:states:local:000000000000:stateMachine:${machine}`, Name: machine },
    Task: { Token: TASK_TOKEN_PLACEHOLDER },
    // aws-local-stepfunctions keeps no $$.State; a getter answers "now" when a state reads
    // it, which is when that state runs (the approval timeout records its time this way).
    State: {
      get EnteredTime() {
        return new Date().toISOString();
      },
    },
  };
}

/**
 * Runs the CDK-defined state machines with aws-local-stepfunctions, every Task served by a local
 * adapter, and keeps executions, events and logs under the root. It is the ExecutionStarter the
 * local handlers get, so a handler or a state machine starting another machine starts it here.
 */
export class LocalEngine implements ExecutionStarter {
  readonly root: string;
  readonly engineDir: string;
  readonly store: ExecutionStore;
  readonly tokens: LocalTaskTokens;
  readonly notifier: Notifier;
  readonly functions: LocalFunctions;
  /** SSM Run Command here: the synthesized documents run by the local agent on this root. */
  readonly hostCommands: LocalHostCommands;
  private readonly adapters: Record<string, TaskAdapter>;
  private readonly running = new Map<string, Promise<ExecutionRecord>>();
  private readonly stoppers = new Map<string, (reason: string) => void>();
  /** EventBridge and SQS deliveries to the local functions. */
  private readonly events: LocalEvents;

  constructor(readonly options: LocalEngineOptions) {
    this.root = resolve(options.root);
    this.engineDir = join(this.root, 'engine');
    this.store = new ExecutionStore(this.engineDir);
    this.tokens = new LocalTaskTokens(this.engineDir);
    this.notifier = options.notifier ?? new LogNotifier(this.engineDir, options.listener);
    const { index } = options.definitions;
    this.hostCommands = new LocalHostCommands({
      agent: new LocalAgent({
        hostRoot: this.root,
        s3Dir: join(this.engineDir, 's3'),
        ...(options.env ? { env: options.env } : {}),
      }),
      documents: index.documents,
      onOutput: (commandId, stream, text) => this.events.commandOutput(commandId, stream, text),
      onEnded: (commandId, instanceId, status) => this.events.commandEnded(commandId, instanceId, status),
      onSent: (commandId) => this.events.commandSent(commandId),
    });
    this.events = new LocalEvents({
      engineDir: this.engineDir,
      functions: () => this.functions,
      queueConsumers: index.queueConsumers,
      store: this.store,
      notifier: this.notifier,
      ...(options.listener ? { listener: options.listener } : {}),
      ...(options.sweepMs !== undefined ? { sweepMs: options.sweepMs } : {}),
    });
    this.functions = options.functions?.(this) ?? {};
    const dynamodb = createDynamoDbAdapter(this.engineDir, index);
    this.adapters = {
      'lambda:invoke': createLambdaAdapter({
        index,
        functions: this.functions,
        tokens: this.tokens,
        listener: options.listener,
      }),
      'dynamodb:putItem': dynamodb,
      'dynamodb:getItem': dynamodb,
      'dynamodb:deleteItem': dynamodb,
      'dynamodb:updateItem': dynamodb,
      'sqs:sendMessage': createSqsAdapter(
        (message) => this.deliver(message),
        (url) => url.split('/').pop() ?? url,
      ),
      'sns:publish': createSnsAdapter(this.notifier),
      'states:startExecution': createStartExecutionAdapter({
        stateMachines: index.stateMachines,
        start: (machine, name, input) => this.start(machine, name, input),
        get: (name) => this.store.get(name),
        wait: (name) => this.wait(name),
      }),
    };
  }

  /** The adapter for a Task resource; throws for any resource the engine cannot serve. */
  adapterFor(resource: TaskResource, state: string): TaskAdapter {
    const adapter = this.adapters[`${resource.service}:${resource.action}`];
    if (!adapter) {
      throw new UnservedResourceError(
        `task ${state}: ${resource.service}:${resource.action} is not served by the local engine`,
      );
    }
    return adapter;
  }

  definition(machine: StateMachineName): AslDefinition {
    const definition = this.options.definitions.machines[machine];
    if (!definition) throw new Error(`state machine ${machine} is not in the CDK app`);
    return definition;
  }

  async start(
    stateMachine: StateMachineName,
    name: string,
    input: unknown,
    rerunOf?: string,
  ): Promise<{ executionId: string; started: boolean }> {
    if (!REGEX.executionName.test(name)) {
      throw new Error(`execution name ${JSON.stringify(name)} must be 1-80 of A-Z a-z 0-9 _ -`);
    }
    const definition = this.definition(stateMachine);
    const abort = new AbortController();
    const handlers = this.handlersFor(stateMachine, name, definition, abort.signal);
    const created = await this.store.create({
      name,
      stateMachine,
      status: 'RUNNING',
      input,
      startDate: new Date().toISOString(),
      currentStates: [],
      pid: process.pid,
      ...(rerunOf ? { rerunOf } : {}),
    });
    if (!created) return { executionId: name, started: false };
    this.options.listener?.({
      execution: name,
      stateMachine,
      kind: 'started',
      message: `${stateMachine} started`,
    });
    const run = this.execute(stateMachine, name, definition, handlers, input, abort);
    this.running.set(name, run);
    this.events.startSweeping();
    void run.finally(() => {
      this.running.delete(name);
      if (this.running.size === 0) this.events.stopSweeping();
    });
    return { executionId: name, started: true };
  }

  /** Starts the execution and waits for it to end. */
  async run(stateMachine: StateMachineName, name: string, input: unknown): Promise<ExecutionRecord> {
    const { started } = await this.start(stateMachine, name, input);
    if (!started) throw new Error(`an execution named ${name} exists already; pick another name or rerun it`);
    return this.wait(name);
  }

  /** ExecutionStarter.status: what intake uses to tell a running compose from a finished one. */
  async status(_machine: StateMachineName, name: string): Promise<ExecutionRecord['status'] | undefined> {
    return (await this.store.get(name).catch(() => undefined))?.status;
  }

  /** Starts a new execution with the input of an earlier one (after fixing what failed). */
  async rerun(name: string): Promise<string> {
    const previous = await this.store.get(name);
    const base = name.replace(/-rerun-[0-9]+$/, '');
    const existing = new Set((await this.store.list()).map((r) => r.name));
    let n = 1;
    while (existing.has(`${base}-rerun-${n}`)) n++;
    const rerunName = `${base.slice(0, 70)}-rerun-${n}`;
    await this.start(previous.stateMachine, rerunName, previous.input, name);
    return rerunName;
  }

  /** The final record of an execution this engine runs, or the stored one. */
  async wait(name: string): Promise<ExecutionRecord> {
    const run = this.running.get(name);
    return run ? run : this.store.get(name);
  }

  /** Waits until no execution or queued delivery of this engine is still going. */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.events.pending().length > 0) {
      await Promise.allSettled([...this.running.values(), ...this.events.pending()]);
    }
  }

  /** Hands an SQS message to the queue's consumer, as its event source mapping would. */
  deliver(message: LocalSqsMessage): Promise<void> {
    return this.events.deliver(message);
  }

  /** Bodies of the messages sent to any queue, oldest first, with the given `type`. */
  sentMessages(type: string): Promise<unknown[]> {
    return this.events.sentMessages(type);
  }

  private handlersFor(
    machine: StateMachineName,
    execution: string,
    definition: AslDefinition,
    signal: AbortSignal,
  ) {
    const handlers: Record<string, (input: unknown) => Promise<never>> = {};
    for (const task of taskStates(definition)) {
      const adapter = this.adapterFor(task.resource, task.name);
      const context: TaskContext = {
        execution,
        stateMachine: machine,
        state: task.name,
        resource: task.resource,
        // The ASL default, as aws-local-stepfunctions applies it: a waiting adapter stops then too.
        timeoutSeconds: task.state.TimeoutSeconds ?? 60,
        signal,
      };
      handlers[task.name] = (input) =>
        runAsTask(context, () => adapter(input as Record<string, unknown>, context)) as Promise<never>;
    }
    return handlers;
  }

  private async execute(
    machine: StateMachineName,
    name: string,
    definition: AslDefinition,
    handlers: Record<string, (input: unknown) => Promise<never>>,
    input: unknown,
    abort: AbortController,
  ): Promise<ExecutionRecord> {
    const sm = new StateMachine(definition as never, {
      validationOptions: wasChecked(definition) ? { noValidate: true } : ENGINE_ASL_CHECKS,
    });
    const execution = sm.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: waitOverrides(
          definition,
          this.options.waitMs ?? DEFAULT_WAIT_MS,
          this.options.waitMsByState,
        ),
        retryIntervalOverrides: retryIntervals(definition, this.options.retryMsPerSecond ?? 20),
      },
      context: executionContext(machine, name, input),
    });
    this.stoppers.set(name, (reason) => {
      stopReason = reason;
      execution.abort();
    });
    let stopReason: string | undefined;
    const events = recordEvents(
      this.store,
      name,
      machine,
      definition,
      execution.eventLogs,
      this.options.listener,
    );
    let record: ExecutionRecord;
    try {
      const output = await execution.result;
      await events;
      record = await this.store.update(name, (r) => {
        Object.assign(r, {
          status: 'SUCCEEDED',
          output,
          stopDate: new Date().toISOString(),
          currentStates: [],
        });
      });
    } catch (err) {
      const { failures } = await events.catch(() => ({ failures: [] }));
      const failure = stopReason
        ? { status: 'ABORTED' as const, error: 'Aborted', cause: stopReason }
        : failureOf(err);
      const failedState = failedStateOf(failures, failure.error);
      record = await this.store.update(name, (r) => {
        Object.assign(r, { ...failure, stopDate: new Date().toISOString(), currentStates: [] });
        if (failedState) r.failedState = failedState;
      });
    }
    this.stoppers.delete(name);
    abort.abort();
    this.announceEnd(machine, name, record);
    return record;
  }

  /** Tells the execution-cleanup rule (when the execution ended from outside) and the listener. */
  private announceEnd(machine: StateMachineName, name: string, record: ExecutionRecord): void {
    if ((ENDED_FROM_OUTSIDE as readonly string[]).includes(record.status)) {
      // As Step Functions tells EventBridge: what no Catch cleaned up, execution-cleanup does.
      this.events.emit('execution-cleanup', {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: executionArn(machine, name),
          stateMachineArn: `arn:aws:states:local:000000000000:stateMachine:${machine}`,
          name,
          status: record.status,
        },
      });
    }
    this.options.listener?.({
      execution: name,
      stateMachine: machine,
      kind: 'finished',
      message:
        record.status === 'SUCCEEDED'
          ? 'succeeded'
          : `${record.status}: ${record.error ?? ''} ${record.cause ?? ''}`.trim(),
    });
  }

  /**
   * StopExecution: aborts a running execution of this engine. No Catch runs, as on AWS; the
   * status-change event brings execution-cleanup, which cancels its host commands (killing
   * their processes) and releases its locks.
   */
  async stop(name: string, reason = 'stopped by the operator'): Promise<ExecutionRecord> {
    const stop = this.stoppers.get(name);
    if (!stop) throw new Error(`execution ${name} is not running in this engine`);
    stop(reason);
    const record = await this.wait(name);
    await this.idle();
    return record;
  }

  /** The executions this engine runs now (those `stop` can stop). */
  runningExecutions(): string[] {
    return [...this.stoppers.keys()];
  }
}
