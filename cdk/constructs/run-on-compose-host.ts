import { Aws, Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { checkParam, HOST_OPERATIONS, type HostOperationName } from '../../shared/operations.ts';
import { documentParams, type HostOperationDocuments, ssmParamName } from './host-documents.ts';

/** The SSM statuses that mean "still going": poll again. Anything else but Success is a failure. */
export const RUNNING_STATUSES = ['Pending', 'InProgress', 'Delayed'] as const;
export const HOST_COMMAND_FAILED = 'HostCommandFailed';
export const HOST_COMMAND_TIMED_OUT = 'HostCommandTimedOut';

/** Poll backoff: 15 s, 30 s, 1 min, … doubling up to 10 min, so a 48 h compose costs ~300 polls. */
export const POLL_BACKOFF = { firstSeconds: 15, maxSeconds: 600 } as const;

/** Where a value comes from: a JSONPath into the state input (`$.major`) or a literal. */
export type ParamSource = { path: string } | { value: string };

export interface RunOnComposeHostProps {
  readonly operation: HostOperationName;
  readonly documents: HostOperationDocuments;
  /** The compose host that runs it. */
  readonly instanceId: string;
  /** Where SSM writes the command's stdout and stderr. */
  readonly outputLogGroup: logs.ILogGroup;
  /** Operation parameters by flag name (`approved-digest`). */
  readonly parameters: Readonly<Record<string, ParamSource>>;
  /** Where `{commandId, status[, output]}` goes in the state. @default - discarded */
  readonly resultPath?: string;
  /**
   * Parse stdout (releng-host's one JSON result line) into `output`.
   * @default false
   */
  readonly parseOutput?: boolean;
}

export class RunOnComposeHostError extends Error {
  override readonly name = 'RunOnComposeHostError';
}

function validate(id: string, props: RunOnComposeHostProps): void {
  const known = new Map(documentParams(props.operation).map((param) => [param.name, param]));
  const problems: string[] = [];
  for (const [name, source] of Object.entries(props.parameters)) {
    const param = known.get(name);
    if (!param) {
      problems.push(`unknown parameter ${JSON.stringify(name)} (have ${[...known.keys()].join(', ')})`);
      continue;
    }
    if ('path' in source && !source.path.startsWith('$')) {
      problems.push(`parameter ${name}: ${JSON.stringify(source.path)} is not a JSONPath`);
    }
    if ('value' in source) {
      try {
        if (param.kind.type === 'flag') {
          if (!['true', 'false'].includes(source.value))
            throw new Error(`flag ${name} must be "true" or "false"`);
        } else checkParam(props.operation, param, source.value);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }
  for (const param of known.values()) {
    if (param.required && !(param.name in props.parameters))
      problems.push(`missing required parameter ${param.name}`);
  }
  if (problems.length) throw new RunOnComposeHostError(`${id} (${props.operation}): ${problems.join('; ')}`);
}

/**
 * Runs one releng-host operation on the compose host and waits for it: ssm:sendCommand, then
 * Wait → ssm:getCommandInvocation → Choice with a doubling wait, until Success (the branch's
 * output) or a failure status (error HostCommandFailed whose cause names the status, the exit
 * code and the log stream). It is one Parallel state, so callers chain it, Catch its errors
 * and Retry it like any task. The loop stops with HostCommandTimedOut once the waits add up to
 * the operation's timeout plus an hour for delivery.
 */
export class RunOnComposeHost extends sfn.Parallel {
  constructor(scope: Construct, id: string, props: RunOnComposeHostProps) {
    validate(id, props);
    const spec = HOST_OPERATIONS[props.operation];
    const parseOutput = props.parseOutput ?? false;
    super(scope, id, {
      comment: `releng-host ${props.operation} on the compose host`,
      resultPath: props.resultPath ?? sfn.JsonPath.DISCARD,
      resultSelector: {
        'commandId.$': '$[0].commandId',
        'status.$': '$[0].status',
        ...(parseOutput ? { 'output.$': '$[0].output' } : {}),
      },
    });
    const at = (suffix: string) => `${id}: ${suffix}`;
    const deadlineSeconds = spec.timeoutSeconds + 3600;

    const ssmParameters = Object.fromEntries(
      Object.entries(props.parameters).map(([name, source]) => [
        ssmParamName(name),
        'path' in source ? sfn.JsonPath.array(sfn.JsonPath.stringAt(source.path)) : [source.value],
      ]),
    );
    const send = new tasks.CallAwsService(scope, at('send command'), {
      service: 'ssm',
      action: 'sendCommand',
      parameters: {
        DocumentName: props.documents.document(props.operation).ref,
        InstanceIds: [props.instanceId],
        Parameters: ssmParameters,
        Comment: sfn.JsonPath.format(`{} ${props.operation}`, sfn.JsonPath.executionName),
        CloudWatchOutputConfig: {
          CloudWatchLogGroupName: props.outputLogGroup.logGroupName,
          CloudWatchOutputEnabled: true,
        },
        // Delivery timeout: a host that stays offline this long fails the command.
        TimeoutSeconds: 3600,
      },
      iamResources: [
        `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:document/${props.documents.document(props.operation).ref}`,
        `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:instance/${props.instanceId}`,
      ],
      resultSelector: { 'commandId.$': '$.Command.CommandId' },
      resultPath: '$.hostCommand',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
    });
    send.addRetry({
      errors: ['Ssm.ThrottlingException', 'Ssm.InternalServerErrorException'],
      maxAttempts: 5,
    });

    const startBackoff = new sfn.Pass(scope, at('start backoff'), {
      parameters: { waitSeconds: POLL_BACKOFF.firstSeconds, elapsedSeconds: 0 },
      resultPath: '$.hostCommand.poll',
    });
    const wait = new sfn.Wait(scope, at('wait'), {
      time: sfn.WaitTime.secondsPath('$.hostCommand.poll.waitSeconds'),
    });
    const poll = new tasks.CallAwsService(scope, at('poll'), {
      service: 'ssm',
      action: 'getCommandInvocation',
      parameters: { 'CommandId.$': '$.hostCommand.commandId', InstanceId: props.instanceId },
      // GetCommandInvocation is not resource-scoped in IAM.
      iamResources: ['*'],
      resultSelector: {
        'Status.$': '$.Status',
        'StatusDetails.$': '$.StatusDetails',
        'ResponseCode.$': '$.ResponseCode',
        'StandardOutputContent.$': '$.StandardOutputContent',
      },
      resultPath: '$.hostCommand.invocation',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
    });
    // The invocation appears a moment after sendCommand returns.
    poll.addRetry({
      errors: ['Ssm.InvocationDoesNotExistException'],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 6,
    });
    poll.addRetry({
      errors: ['Ssm.ThrottlingException', 'Ssm.InternalServerErrorException'],
      maxAttempts: 5,
    });

    const elapsed = sfn.JsonPath.mathAdd(
      sfn.JsonPath.numberAt('$.hostCommand.poll.elapsedSeconds'),
      sfn.JsonPath.numberAt('$.hostCommand.poll.waitSeconds'),
    );
    const backOff = new sfn.Pass(scope, at('back off'), {
      parameters: {
        waitSeconds: sfn.JsonPath.mathAdd(
          sfn.JsonPath.numberAt('$.hostCommand.poll.waitSeconds'),
          sfn.JsonPath.numberAt('$.hostCommand.poll.waitSeconds'),
        ),
        elapsedSeconds: elapsed,
      },
      resultPath: '$.hostCommand.poll',
    });
    const keepInterval = new sfn.Pass(scope, at('keep interval'), {
      parameters: { waitSeconds: POLL_BACKOFF.maxSeconds, elapsedSeconds: elapsed },
      resultPath: '$.hostCommand.poll',
    });
    const nextInterval = new sfn.Choice(scope, at('interval capped?'))
      .when(
        sfn.Condition.numberGreaterThanEquals('$.hostCommand.poll.waitSeconds', POLL_BACKOFF.maxSeconds / 2),
        keepInterval.next(wait),
      )
      .otherwise(backOff.next(wait));
    const timedOut = new sfn.Fail(scope, at('timed out'), {
      error: HOST_COMMAND_TIMED_OUT,
      cause: `releng-host ${props.operation} ran past ${deadlineSeconds} seconds`,
    });
    const pastDeadline = new sfn.Choice(scope, at('past deadline?'))
      .when(
        sfn.Condition.numberGreaterThanEquals('$.hostCommand.poll.elapsedSeconds', deadlineSeconds),
        timedOut,
      )
      .otherwise(nextInterval);

    const logStream = sfn.JsonPath.format(
      '{}/{}/releng/stdout',
      sfn.JsonPath.stringAt('$.hostCommand.commandId'),
      props.instanceId,
    );
    const describeFailure = new sfn.Pass(scope, at('describe failure'), {
      parameters: {
        cause: sfn.JsonPath.format(
          `releng-host ${props.operation}: {} ({}, exit {}); log group {} stream {}`,
          sfn.JsonPath.stringAt('$.hostCommand.invocation.Status'),
          sfn.JsonPath.stringAt('$.hostCommand.invocation.StatusDetails'),
          sfn.JsonPath.stringAt('$.hostCommand.invocation.ResponseCode'),
          props.outputLogGroup.logGroupName,
          logStream,
        ),
      },
      resultPath: '$.hostCommand.failure',
    });
    const failed = new sfn.Fail(scope, at('failed'), {
      error: HOST_COMMAND_FAILED,
      causePath: '$.hostCommand.failure.cause',
    });
    const succeeded = new sfn.Pass(scope, at('succeeded'), {
      parameters: {
        'commandId.$': '$.hostCommand.commandId',
        'status.$': '$.hostCommand.invocation.Status',
        ...(parseOutput
          ? {
              output: sfn.JsonPath.stringToJson(
                sfn.JsonPath.stringAt('$.hostCommand.invocation.StandardOutputContent'),
              ),
            }
          : {}),
      },
    });
    const done = new sfn.Choice(scope, at('done?'))
      .when(sfn.Condition.stringEquals('$.hostCommand.invocation.Status', 'Success'), succeeded)
      .when(
        sfn.Condition.or(
          ...RUNNING_STATUSES.map((s) => sfn.Condition.stringEquals('$.hostCommand.invocation.Status', s)),
        ),
        pastDeadline,
      )
      .otherwise(describeFailure.next(failed));

    this.branch(send.next(startBackoff).next(wait).next(poll).next(done));
  }
}
