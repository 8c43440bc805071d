import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { HostOperationName } from '../../shared/operations.ts';
import type { ComposeHosts } from './compose-hosts.ts';
import type { HostOperationDocuments } from './host-documents.ts';
import { type ParamSource, RunOnComposeHost } from './run-on-compose-host.ts';
import type { LockStepOptions, StateTable } from './state-table.ts';

export interface PipelineKitProps {
  readonly config: ReleaseConfig;
  readonly documents: HostOperationDocuments;
  readonly hosts: ComposeHosts;
  readonly state: StateTable;
  readonly preflight: lambda.IFunction;
  /** Sends host commands for the pipelines' host tasks (HostCommandBridge). */
  readonly hostCommand: lambda.IFunction;
  readonly topic: sns.ITopic;
}

export function approvalTimeout(config: ReleaseConfig): Duration {
  return Duration.seconds(Math.max(1, Math.ceil(config.approval.timeoutHours * 3600)));
}

/** Where a caught error goes in the state, for the failure path to report. */
export const FAILURE_PATH = '$.failure';

/**
 * The building blocks every pipeline definition is made of, bound to this stack's hosts,
 * documents, lock table, preflight Lambda and topic, so definitions read as the steps they run.
 */
export class PipelineKit {
  constructor(readonly props: PipelineKitProps) {}

  get config(): ReleaseConfig {
    return this.props.config;
  }

  /** How long an approval may wait: the configured hours, in whole seconds (they may be fractional). */
  get approvalTimeout(): Duration {
    return approvalTimeout(this.props.config);
  }

  /** Runs a releng-host operation on the compose host. Parameters by flag name. */
  host(
    scope: Construct,
    id: string,
    operation: HostOperationName,
    parameters: Record<string, ParamSource>,
    options: { resultPath?: string; parseOutput?: boolean } = {},
  ): RunOnComposeHost {
    acknowledgeVersionInvoke(scope, this.props.hostCommand);
    return new RunOnComposeHost(scope, id, {
      operation,
      documents: this.props.documents,
      hostCommand: this.props.hostCommand,
      instanceId: this.props.hosts.primaryInstanceId,
      outputLogGroup: this.props.hosts.commandLogs,
      parameters,
      ...options,
    });
  }

  /**
   * `releng-host doctor` on the compose host: tools, mounts, signing key and free space, so a
   * missing piece fails the pipeline at its start rather than hours into a compose or publish.
   */
  checkHost(scope: Construct, id: string, major?: ParamSource): RunOnComposeHost {
    return this.host(scope, id, 'doctor', major ? { major } : {});
  }

  /**
   * Checks the EFS file systems are available and reads the clock into `$.clock.now` (epoch
   * seconds) for lock expiries.
   */
  checkEfs(scope: Construct, id: string): tasks.LambdaInvoke {
    acknowledgeVersionInvoke(scope, this.props.preflight);
    const ids = [...new Set(Object.values(this.props.hosts.fileSystemIds))];
    return new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: this.props.preflight,
      payload: sfn.TaskInput.fromObject({ version: 1, fileSystemIds: ids }),
      resultSelector: { 'now.$': '$.Payload.nowEpochSeconds' },
      resultPath: '$.clock',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
    });
  }

  acquire(scope: Construct, options: LockStepOptions): tasks.DynamoPutItem {
    return this.props.state.acquire(scope, options);
  }

  release(scope: Construct, options: Pick<LockStepOptions, 'label' | 'lockName'>): sfn.Chain {
    return this.props.state.release(scope, options);
  }

  notify(scope: Construct, id: string, subject: string, message: string): tasks.SnsPublish {
    return new tasks.SnsPublish(scope, id, {
      topic: this.props.topic,
      subject,
      message: sfn.TaskInput.fromText(message),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
    });
  }

  /**
   * The body of a pipeline: `steps` in one Parallel whose every failure takes the failure path
   * (cleanup, notify, fail). The state after it sees the pipeline input unchanged.
   */
  guarded(
    scope: Construct,
    id: string,
    pipeline: string,
    steps: sfn.IChainable,
    cleanup: sfn.Chain[] = [],
  ): sfn.Parallel {
    const body = new sfn.Parallel(scope, id, { resultPath: sfn.JsonPath.DISCARD });
    body.branch(steps);
    body.addCatch(this.failurePath(scope, pipeline, cleanup), {
      errors: ['States.ALL'],
      resultPath: FAILURE_PATH,
    });
    return body;
  }

  /**
   * What every pipeline does when a step fails: run `cleanup` (lock releases, which never
   * fail), notify the topic with the execution, error and cause (a host command's cause names
   * the operation and its log stream), then fail with the original error.
   */
  failurePath(scope: Construct, pipeline: string, cleanup: sfn.Chain[] = []): sfn.IChainable {
    const notify = this.notify(
      scope,
      'Notify failure',
      `releng ${pipeline} failed`,
      sfn.JsonPath.format(
        `releng ${pipeline} {} failed: {}: {}`,
        sfn.JsonPath.executionName,
        sfn.JsonPath.stringAt(`${FAILURE_PATH}.Error`),
        sfn.JsonPath.stringAt(`${FAILURE_PATH}.Cause`),
      ),
    );
    const fail = new sfn.Fail(scope, 'Failed', {
      errorPath: `${FAILURE_PATH}.Error`,
      causePath: `${FAILURE_PATH}.Cause`,
    });
    let chain: sfn.Chain | undefined;
    for (const step of cleanup) chain = chain ? chain.next(step) : step;
    return chain ? chain.next(notify).next(fail) : notify.next(fail);
  }
}

/**
 * LambdaInvoke grants `<function arn>:*` too (any version or alias of that one function).
 * Acknowledged for the state machine built in `scope`.
 */
export function acknowledgeVersionInvoke(scope: Construct, fn: lambda.IFunction): void {
  const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
  Validations.of(scope).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
    reason: 'the invoke permission covers versions and aliases of this one function',
  });
}

/**
 * A Pass that fills in the optional fields of the state input with defaults (JSONPath has no
 * "default"), so later states can reference them: `States.JsonMerge(defaults, $)`.
 */
export function withDefaults(scope: Construct, id: string, defaults: Record<string, unknown>): sfn.Chain {
  const hold = new sfn.Pass(scope, `${id}: hold`, {
    parameters: { defaults, 'input.$': '$' },
  });
  const merge = new sfn.Pass(scope, id, {
    parameters: {
      merged: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$.defaults'), sfn.JsonPath.objectAt('$.input')),
    },
    outputPath: '$.merged',
  });
  return hold.next(merge);
}

/** Map ItemSelector fields that carry the release selection into each iteration. */
export const RELEASE_FIELDS = {
  'major.$': '$.major',
  'channel.$': '$.channel',
  'revision.$': '$.revision',
} as const;

/** `{ path }` shorthand for ParamSource. */
export const at = (path: string): ParamSource => ({ path });
/** The release selection every operation takes, read from the state. */
export const releaseParams = (prefix = '$'): Record<string, ParamSource> => ({
  major: at(`${prefix}.major`),
  channel: at(`${prefix}.channel`),
  revision: at(`${prefix}.revision`),
});
