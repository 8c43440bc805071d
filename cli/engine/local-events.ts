import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import type { HostCommandStatus, Notifier } from '../../shared/ports.ts';
import type { LocalFunctions } from './adapters/lambda.ts';
import { type LocalSqsMessage, sqsEvent } from './adapters/messaging.ts';
import { currentTask } from './adapters/task-scope.ts';
import type { EngineListener } from './adapters/types.ts';
import { serviceError } from './adapters/types.ts';
import type { ExecutionStore } from './execution-store.ts';

export interface LocalEventsOptions {
  engineDir: string;
  /** The local functions (built after the engine, so read when an event arrives). */
  functions: () => LocalFunctions;
  /** Queue name → the function its event source mapping invokes. */
  queueConsumers: Record<string, string>;
  store: ExecutionStore;
  notifier: Notifier;
  listener?: EngineListener;
  /** Milliseconds between reconciliation sweeps while executions run (default 5 s). */
  sweepMs?: number;
}

/**
 * What EventBridge rules and SQS event source mappings do on AWS, for the local engine: hand
 * SSM status changes, the scheduled sweep, execution status changes and queue messages to the
 * function that consumes them, in the background; and file each host command's output under
 * the task that sent it.
 */
export class LocalEvents {
  private readonly background = new Set<Promise<unknown>>();
  private readonly commandTasks = new Map<string, { execution: string; state: string; startedAt: number }>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: LocalEventsOptions) {}

  /** Deliveries still being handled. */
  pending(): Array<Promise<unknown>> {
    return [...this.background];
  }

  private track(delivery: Promise<unknown>): void {
    this.background.add(delivery);
    void delivery.catch(() => undefined).finally(() => this.background.delete(delivery));
  }

  /** Hands an EventBridge event to the local function its rule targets, in the background. */
  emit(functionName: string, event: unknown): void {
    const fn = this.options.functions()[functionName];
    if (!fn) return;
    this.track(
      fn(event).catch((err) =>
        this.options.notifier.publish(
          'event failed',
          `${functionName} failed an event: ${errorMessage(err)}`,
        ),
      ),
    );
  }

  /** Hands an SQS message to the queue's consumer, as its event source mapping would. */
  async deliver(message: LocalSqsMessage): Promise<void> {
    const consumers = this.options.queueConsumers;
    const consumer = Object.hasOwn(consumers, message.queue) ? consumers[message.queue] : undefined;
    const fn = consumer ? this.options.functions()[consumer] : undefined;
    if (!fn) throw serviceError('SQS.QueueDoesNotExist', `no local consumer for queue ${message.queue}`);
    const queues = join(this.options.engineDir, 'queues');
    await mkdir(queues, { recursive: true });
    await appendFile(
      join(queues, `${message.queue.replaceAll(/[^A-Za-z0-9_-]/g, '_')}.jsonl`),
      `${JSON.stringify({ at: new Date().toISOString(), ...message })}\n`,
    );
    // SQS would retry and then dead-letter a message its consumer fails; locally it is reported.
    const failed = (why: string) =>
      this.options.notifier.publish(
        'message failed',
        `${consumer} failed a message on ${message.queue} (${why}): ${message.body.slice(0, 200)}`,
      );
    this.track(
      fn(sqsEvent(message)).then(
        (response) => {
          const failures =
            (response as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures ?? [];
          if (failures.length > 0) return failed('reported as a batch item failure');
        },
        (err) => failed(errorMessage(err)),
      ),
    );
  }

  /** Bodies of the messages sent to any queue, oldest first, with the given `type`. */
  async sentMessages(type: string): Promise<unknown[]> {
    const dir = join(this.options.engineDir, 'queues');
    const out: Array<{ at: string; body: unknown }> = [];
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      for (const line of (await readFile(join(dir, file), 'utf8')).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as LocalSqsMessage & { at: string };
        const body = JSON.parse(entry.body) as { type?: string };
        if (body.type === type) out.push({ at: entry.at, body });
      }
    }
    return out.sort((a, b) => a.at.localeCompare(b.at)).map((m) => m.body);
  }

  /**
   * A host command was sent: file it under the sending task now, so its `[… after S s]` line
   * counts from the send, also for a command that prints only when it ends (doctor's report).
   */
  commandSent(commandId: string): void {
    if (!this.commandTasks.has(commandId)) this.attribute(commandId);
  }

  /** Output of a host command: its task's log, and stderr lines as progress on the terminal. */
  commandOutput(commandId: string, stream: 'stdout' | 'stderr', text: string): void {
    const task = this.commandTasks.get(commandId) ?? this.attribute(commandId);
    if (!task) return;
    void this.options.store.appendLog(task.execution, task.state, text);
    if (stream !== 'stderr') return;
    for (const line of text.split('\n').filter(Boolean)) {
      this.options.listener?.({
        execution: task.execution,
        kind: 'progress',
        state: task.state,
        message: line,
      });
    }
  }

  /** The task whose host-command invocation sent this command (it runs in that task's scope). */
  private attribute(commandId: string) {
    const task = currentTask();
    if (!task) return undefined;
    const entry = { execution: task.execution, state: task.state, startedAt: Date.now() };
    this.commandTasks.set(commandId, entry);
    return entry;
  }

  /** SSM's invocation status-change event, as EventBridge would deliver it to host-command-events. */
  commandEnded(commandId: string, instanceId: string, status: HostCommandStatus): void {
    const task = this.commandTasks.get(commandId);
    this.commandTasks.delete(commandId);
    if (task) {
      const seconds = ((Date.now() - task.startedAt) / 1000).toFixed(1);
      void this.options.store.appendLog(task.execution, task.state, `[${status} after ${seconds} s]\n`);
    }
    this.emit('host-command-events', {
      source: 'aws.ssm',
      'detail-type': 'EC2 Command Invocation Status-change Notification',
      detail: { 'command-id': commandId, 'instance-id': instanceId, status },
    });
  }

  /** The scheduled reconciliation sweep, while executions run. */
  startSweeping(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(
      () => this.emit('host-command-events', { source: 'aws.events', 'detail-type': 'Scheduled Event' }),
      this.options.sweepMs ?? 5_000,
    );
    this.sweeper.unref();
  }

  stopSweeping(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
