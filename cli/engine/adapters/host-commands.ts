import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../../shared/errors.ts';
import type {
  HostCommandInvocation,
  HostCommandRequest,
  HostCommandStatus,
  HostCommands,
} from '../../../shared/ports.ts';
import type { LocalAgent, StartedCommand } from '../../agent/index.ts';
import { lookupResource } from '../definitions.ts';
import { serviceError } from './types.ts';

export interface LocalHostCommandsOptions {
  agent: LocalAgent;
  /** The synthesized SSM documents' content, by logical id. */
  documents: Record<string, unknown>;
  /**
   * Called when an invocation ends, as SSM sends "EC2 Command Invocation Status-change
   * Notification" to EventBridge; the engine routes it to host-command-events.
   */
  onEnded(commandId: string, instanceId: string, status: HostCommandStatus): void;
  /** Called as the command is sent, in the scope of the task sending it (its clock starts here). */
  onSent?(commandId: string): void;
  /** Every chunk of output as the command writes it (progress for the terminal, logs). */
  onOutput?(commandId: string, stream: 'stdout' | 'stderr', text: string): void;
}

/**
 * SSM Run Command on the local twin: SendCommand starts the synthesized document itself on the
 * local agent (its own shell text, its parameter patterns checked with RE2, output cut as SSM
 * cuts it), GetCommandInvocation reads the agent's invocation, CancelCommand kills the
 * command's process group.
 */
export class LocalHostCommands implements HostCommands {
  private readonly started = new Map<string, StartedCommand & { instanceId: string }>();

  constructor(private readonly options: LocalHostCommandsOptions) {}

  async send(request: HostCommandRequest): Promise<{ commandId: string }> {
    let document: unknown;
    try {
      [, document] = lookupResource(this.options.documents, request.documentName, 'SSM document');
    } catch (err) {
      throw serviceError('InvalidDocument', errorMessage(err));
    }
    const commandId = randomUUID();
    this.options.onSent?.(commandId);
    let command: StartedCommand;
    try {
      command = this.options.agent.start(document, request.parameters, {
        commandId,
        onOutput: ({ stream, text }) => this.options.onOutput?.(commandId, stream, text),
      });
    } catch (err) {
      throw serviceError('InvalidParameters', errorMessage(err));
    }
    this.started.set(commandId, Object.assign(command, { instanceId: request.instanceId }));
    void command.done.then((invocation) =>
      this.options.onEnded(commandId, request.instanceId, invocation.status as HostCommandStatus),
    );
    return { commandId };
  }

  /** The local host stands for the instance a command was sent to; any other has no invocation. */
  async get(commandId: string, instanceId: string): Promise<HostCommandInvocation | undefined> {
    const invocation = this.options.agent.invocation(commandId);
    if (!invocation || this.started.get(commandId)?.instanceId !== instanceId) return undefined;
    return {
      commandId,
      instanceId,
      status: invocation.status,
      statusDetails: invocation.statusDetails,
      responseCode: invocation.responseCode,
      stdout: invocation.stdout,
      stderr: invocation.stderr,
    };
  }

  async cancel(commandId: string): Promise<void> {
    const command = this.started.get(commandId);
    if (!command) return;
    command.cancel();
    await command.done;
  }

  /** Commands still running (the engine waits for them when it shuts down). */
  running(): Promise<unknown>[] {
    return [...this.started.values()].map((c) => c.done);
  }
}
