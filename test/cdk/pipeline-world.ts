import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { type AslDefinition, allStates } from '../../cli/engine/asl.ts';
import type { Item } from '../../cli/engine/expressions.ts';
import { LocalTable } from '../../cli/engine/local-table.ts';
import { aslFromTemplate } from '../../cli/engine/template-asl.ts';
import { describeHostFailure } from '../../shared/host-commands/result.ts';
import { HOST_COMMAND_ERRORS } from '../../shared/host-commands/task.ts';
import type { CfnTemplate } from './synth.ts';

/** What a fake compose host reports for one command. */
export interface HostOutcome {
  status?: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';
  stdout?: string;
  exitCode?: number;
}

export interface HostCommand {
  operation: string;
  parameters: Record<string, string>;
}

/** The condition part of a DynamoDB task's parameters, as the local table takes it. */
// biome-ignore lint/suspicious/noExplicitAny: the task parameters are the state machine's JSON.
const conditional = (input: any) => ({
  condition: input.ConditionExpression,
  names: input.ExpressionAttributeNames,
  values: input.ExpressionAttributeValues,
});

// biome-ignore lint/suspicious/noExplicitAny: test handlers read the payloads the state machines build.
type Handler = (payload: any) => unknown;

/**
 * The AWS side of a pipeline run, served at the API edge: Lambda (test handlers by function
 * name; host-command answers as its completion event would, from a scripted compose host), DynamoDB (the engine's local table with real condition
 * evaluation), SNS, SQS and Step Functions StartExecution (recorded). Everything between those
 * calls is the synthesized state machine itself, run by aws-local-stepfunctions.
 */
export class PipelineWorld {
  readonly commands: HostCommand[] = [];
  readonly notifications: Array<{ subject?: string; message: string }> = [];
  readonly messages: unknown[] = [];
  readonly startedExecutions: Array<{ stateMachine: string; name?: string; input: unknown }> = [];
  readonly table: LocalTable;
  /** Lock names seen taken, in order. */
  readonly locksTaken: string[] = [];
  private readonly operationsByDocument: Record<string, string> = {};
  private readonly functionsById: Record<string, string> = {};

  constructor(
    readonly template: CfnTemplate,
    readonly host: (command: HostCommand) => HostOutcome,
    readonly lambdas: Record<string, Handler> = {},
  ) {
    this.table = new LocalTable(join(mkdtempSync(join(tmpdir(), 'releng-cdk-')), 'state.json'), ['pk', 'sk']);
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type === 'AWS::SSM::Document' && r.Metadata?.['releng:operation'])
        this.operationsByDocument[id] = r.Metadata['releng:operation'];
      if (r.Type === 'AWS::Lambda::Function' && r.Metadata?.['releng:function'])
        this.functionsById[id] = r.Metadata['releng:function'];
    }
  }

  /** Lock items still in the table. */
  async heldLocks(): Promise<string[]> {
    return (await this.table.scan())
      .filter((i) => String(i.pk?.S).startsWith('LOCK#'))
      .map((i) => String(i.pk?.S));
  }

  /** A table call as the Step Functions integration reports it: `{}`, or a `DynamoDB.`-prefixed error. */
  private dynamo(call: Promise<unknown>): Promise<unknown> {
    return call.then(
      () => ({}),
      (err: Error) => {
        throw Object.assign(new Error(err.message), { name: `DynamoDB.${err.name}` });
      },
    );
  }

  private async serve(resource: string, input: Record<string, any>): Promise<unknown> {
    const service = resource.replace(/^arn:aws:states:::/, '');
    switch (service) {
      case 'lambda:invoke':
      case 'lambda:invoke.waitForTaskToken': {
        const id = String(input.FunctionName).split(':').pop()!;
        const name = this.functionsById[id];
        if (name === 'host-command' && !this.lambdas[name]) return this.runHostCommand(input.Payload);
        const handler = name ? this.lambdas[name] : undefined;
        if (!handler) throw new Error(`no test handler for Lambda ${name ?? id}`);
        const result = await handler(input.Payload);
        return service === 'lambda:invoke' ? { Payload: result, StatusCode: 200 } : result;
      }
      case 'dynamodb:putItem':
        this.locksTaken.push(String(input.Item.pk.S));
        return this.dynamo(this.table.put(input.Item as Item, conditional(input)));
      case 'dynamodb:deleteItem':
        return this.dynamo(this.table.delete(input.Key as Item, conditional(input)));
      case 'dynamodb:updateItem': {
        const update = this.table.update(input.Key as Item, input.UpdateExpression, conditional(input));
        if (input.ReturnValues !== 'ALL_NEW') return this.dynamo(update);
        return this.dynamo(update).then(async () => ({
          Attributes: await this.table.get(input.Key as Item),
        }));
      }
      case 'sns:publish':
        this.notifications.push({ subject: input.Subject, message: input.Message });
        return { MessageId: `m-${this.notifications.length}` };
      case 'sqs:sendMessage':
        this.messages.push(input.MessageBody);
        return { MessageId: `q-${this.messages.length}` };
      case 'states:startExecution':
      case 'states:startExecution.sync:2': {
        this.startedExecutions.push({
          stateMachine: input.StateMachineArn,
          name: input.Name,
          input: input.Input,
        });
        const handler = this.lambdas['states:startExecution'];
        const output = handler ? await handler(input.Input) : {};
        return service.endsWith('sync:2')
          ? { Status: 'SUCCEEDED', Output: output }
          : { ExecutionArn: `${input.StateMachineArn}:${input.Name}` };
      }
      default:
        throw new Error(`the test world does not serve ${resource}`);
    }
  }

  /**
   * What the host-command Lambda and the completion event amount to, seen from the state
   * machine: the task's result for a successful command, or the error it is failed with.
   */
  private runHostCommand(payload: Record<string, any>): unknown {
    const operation = this.operationsByDocument[payload.documentName];
    if (!operation) throw new Error(`unknown document ${payload.documentName}`);
    if (operation !== payload.operation)
      throw new Error(`${payload.documentName} is not ${payload.operation}`);
    const parameters = Object.fromEntries(
      Object.entries(payload.parameters as Record<string, string[]>).map(([k, v]) => [k, v[0]!]),
    );
    const command = { operation, parameters };
    this.commands.push(command);
    const outcome = this.host(command);
    const status = outcome.status ?? 'Success';
    const stdout = outcome.stdout ?? '{"ok":true}\n';
    if (status === 'Success')
      return { commandId: `cmd-${this.commands.length}`, status, output: JSON.parse(stdout) };
    const invocation = {
      commandId: `cmd-${this.commands.length}`,
      instanceId: payload.instanceId,
      status,
      statusDetails: status,
      responseCode: outcome.exitCode ?? 1,
      stdout,
      stderr: '',
    };
    throw Object.assign(new Error(describeHostFailure(operation, invocation)), {
      name: status === 'TimedOut' ? HOST_COMMAND_ERRORS.timedOut : HOST_COMMAND_ERRORS.failed,
    });
  }

  /** Runs the pipeline whose construct id is `pipeline`; resolves with the output or rejects with the error. */
  run(pipeline: string, input: unknown, executionName = 'test-execution'): Promise<unknown> {
    const definition = aslFromTemplate(this.template, pipeline) as unknown as AslDefinition;
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    for (const { name, state } of allStates(definition)) {
      if (state.Type === 'Task') {
        handlers[name] = (payload) => this.serve(String(state.Resource), payload) as Promise<any>;
        retries[name] = 0;
      }
      if (state.Type === 'Wait') waits[name] = 0;
      if (state.Type === 'Parallel' || state.Type === 'Map') retries[name] = 0;
    }
    const machine = new StateMachine(definition as never, {
      validationOptions: { checkPaths: true, checkArn: false },
    });
    return machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: waits,
        retryIntervalOverrides: retries,
      },
      context: {
        Execution: {
          Id: `arn:aws:states:us-east-1:000000000000:execution:${pipeline}:${executionName}`,
          Name: executionName,
        },
        Task: { Token: `token-${executionName}` },
        // aws-local-stepfunctions leaves State.* unset; the approval timeout reads EnteredTime.
        State: { EnteredTime: '2027-01-01T00:00:00.000Z', Name: '', RetryCount: 0 },
      } as never,
    }).result;
  }
}
