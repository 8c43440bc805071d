import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { errorMessage } from '../../shared/errors.ts';
import { DELIVERY_TIMEOUT_SECONDS } from '../../shared/host-commands/lifecycle.ts';
import { HOST_COMMAND_ERRORS } from '../../shared/host-commands/task.ts';
import {
  checkParam,
  HOST_OPERATIONS,
  type HostOperationName,
  ssmParamName,
} from '../../shared/operations.ts';
import { documentParams, type HostOperationDocuments } from './host-documents.ts';

export const HOST_COMMAND_FAILED = HOST_COMMAND_ERRORS.failed;
export const HOST_COMMAND_TIMED_OUT = HOST_COMMAND_ERRORS.timedOut;

/**
 * How long a running command's task waits without a heartbeat. The reconciliation sweep sends
 * one every few minutes (HOST_COMMAND_SWEEP), so several sweeps may be missed before it fails.
 */
export const HOST_COMMAND_HEARTBEAT = Duration.minutes(30);

/** Where a value comes from: a JSONPath into the state input (`$.major`) or a literal. */
export type ParamSource = { path: string } | { value: string };

export interface RunOnComposeHostProps {
  readonly operation: HostOperationName;
  readonly documents: HostOperationDocuments;
  /** The host-command Lambda: sends the SSM command and records it against the task token. */
  readonly hostCommand: lambda.IFunction;
  /** The compose host that runs it. */
  readonly instanceId: string;
  /** Where SSM writes the command's stdout and stderr. */
  readonly outputLogGroup: logs.ILogGroup;
  /** Operation parameters by flag name (`approved-digest`). */
  readonly parameters: Readonly<Record<string, ParamSource>>;
  /** Where `{commandId, status[, output]}` goes in the state. @default - discarded */
  readonly resultPath?: string;
  /**
   * Keep releng-host's JSON result (a bounded summary, at most 4 KB) as `output`.
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
        problems.push(errorMessage(err));
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
 * Runs one releng-host operation on the compose host and waits for it without polling: the
 * host-command Lambda sends the SSM command under this task's token, and the command's
 * status-change event (or the reconciliation sweep) answers it with releng-host's bounded
 * JSON result, or fails it with HostCommandFailed naming the host's own failure line. The task
 * stays alive on the sweep's heartbeats; a lost host ends in HostCommandTimedOut. However long
 * the command runs, it costs the execution a handful of history events. It is one Parallel
 * state, so callers chain it, Catch its errors and Retry it like any task.
 */
export class RunOnComposeHost extends sfn.Parallel {
  constructor(scope: Construct, id: string, props: RunOnComposeHostProps) {
    validate(id, props);
    super(scope, id, {
      comment: `releng-host ${props.operation} on the compose host`,
      resultPath: props.resultPath ?? sfn.JsonPath.DISCARD,
      resultSelector: {
        'commandId.$': '$[0].commandId',
        'status.$': '$[0].status',
        ...(props.parseOutput ? { 'output.$': '$[0].output' } : {}),
      },
    });
    const run = sendAndWait(scope, id, props);
    run.addCatch(timedOut(scope, id, props.operation), {
      errors: ['States.Timeout', 'States.HeartbeatTimeout'],
    });
    this.branch(run);
  }
}

/** State names of one host step: `Sign repos: run`. */
const stateName = (id: string, suffix: string) => `${id}: ${suffix}`;

/** The SSM document parameters: each a one-element list, from the state or a literal. */
function documentParameters(props: RunOnComposeHostProps): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(props.parameters).map(([name, source]) => [
      ssmParamName(name),
      'path' in source ? sfn.JsonPath.array(sfn.JsonPath.stringAt(source.path)) : [source.value],
    ]),
  );
}

/**
 * Send and wait: the host-command Lambda sends the SSM command under this task's token; the
 * command's outcome (or the sweep) completes the token, heartbeats keep it alive meanwhile.
 */
function sendAndWait(scope: Construct, id: string, props: RunOnComposeHostProps): tasks.LambdaInvoke {
  const spec = HOST_OPERATIONS[props.operation];
  const run = new tasks.LambdaInvoke(scope, stateName(id, 'run'), {
    lambdaFunction: props.hostCommand,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      version: 1,
      taskToken: sfn.JsonPath.taskToken,
      operation: props.operation,
      documentName: props.documents.document(props.operation).ref,
      instanceId: props.instanceId,
      parameters: documentParameters(props),
      execution: sfn.JsonPath.executionId,
      state: stateName(id, 'run'),
      outputLogGroup: props.outputLogGroup.logGroupName,
      timeoutSeconds: spec.timeoutSeconds,
    }),
    heartbeatTimeout: sfn.Timeout.duration(HOST_COMMAND_HEARTBEAT),
    taskTimeout: sfn.Timeout.duration(Duration.seconds(spec.timeoutSeconds + DELIVERY_TIMEOUT_SECONDS)),
    // A retried invoke could send the operation twice; the Lambda refuses that anyway.
    retryOnServiceExceptions: false,
  });
  run.addRetry({
    errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException'],
    interval: Duration.seconds(5),
    maxAttempts: 3,
  });
  return run;
}

/** The outcome when the host went silent or ran too long: HostCommandTimedOut, saying which. */
function timedOut(scope: Construct, id: string, operation: HostOperationName): sfn.Fail {
  const limit = HOST_OPERATIONS[operation].timeoutSeconds + DELIVERY_TIMEOUT_SECONDS;
  return new sfn.Fail(scope, stateName(id, 'timed out'), {
    error: HOST_COMMAND_TIMED_OUT,
    cause: `releng-host ${operation} sent no heartbeat for ${HOST_COMMAND_HEARTBEAT.toHumanString()} or ran past ${limit} seconds`,
  });
}
