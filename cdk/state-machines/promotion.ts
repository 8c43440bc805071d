import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { BATCH_READ_STATE, COALESCE_WAIT_STATE } from '../../shared/approvals/batch.ts';
import { APPROVAL_ERRORS } from '../../shared/approvals/decide.ts';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { STATE_TABLE, stateKey } from '../../shared/state-table.ts';
import { acknowledgeVersionInvoke, at, FAILURE_PATH, type PipelineKit } from '../constructs/pipeline-kit.ts';

/** Production publish and file lists hold the global publish lock; sync-to-prod can take 12 h per release. */
export const PUBLISH_LOCK_TTL = Duration.hours(36);
/** Key of a pending approval in the state table (the approval-request Lambda writes it). */
function approvalKey(approvalIdPath: string): Record<string, tasks.DynamoAttributeValue> {
  const { pk, sk } = stateKey.approval('{}');
  return {
    [STATE_TABLE.partitionKey]: tasks.DynamoAttributeValue.fromString(
      sfn.JsonPath.format(pk, sfn.JsonPath.stringAt(approvalIdPath)),
    ),
    [STATE_TABLE.sortKey]: tasks.DynamoAttributeValue.fromString(sk),
  };
}

/**
 * A promotion promotion-events started for a batch (`{version: 1, batch: {id, waitSeconds}}`):
 * wait out the window, close the batch with a direct UpdateItem (from then on later messages
 * open the next batch; closing twice is harmless) and parse its releases into `$.releases`.
 * Input with `releases` (minor-release, by hand) skips this.
 */
function readBatch(scope: Construct, kit: PipelineKit, approvals: sfn.IChainable): sfn.IChainable {
  const { pk, sk } = stateKey.promotionBatch('{}');
  const close = new tasks.DynamoUpdateItem(scope, 'Close the batch', {
    table: kit.props.state.table,
    key: {
      [STATE_TABLE.partitionKey]: tasks.DynamoAttributeValue.fromString(
        sfn.JsonPath.format(pk, sfn.JsonPath.stringAt('$.batch.id')),
      ),
      [STATE_TABLE.sortKey]: tasks.DynamoAttributeValue.fromString(sk),
    },
    updateExpression: 'SET closed = :closed',
    conditionExpression: 'attribute_exists(pk)',
    expressionAttributeValues: { ':closed': tasks.DynamoAttributeValue.fromBoolean(true) },
    returnValues: tasks.DynamoReturnValues.ALL_NEW,
    resultSelector: { 'releases.$': '$.Attributes.releases.M.*.S' },
    resultPath: '$.closed',
    taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
  });
  close.addCatch(
    new sfn.Fail(scope, 'No such batch', {
      error: 'UnknownBatch',
      cause: 'the input names a promotion batch the state table does not hold',
    }),
    { errors: ['DynamoDB.ConditionalCheckFailedException'] },
  );
  const parse = new sfn.Map(scope, BATCH_READ_STATE, {
    itemsPath: '$.closed.releases',
    itemSelector: { 'release.$': 'States.StringToJson($$.Map.Item.Value)' },
    resultPath: '$.releases',
  });
  parse.itemProcessor(new sfn.Pass(scope, 'Parse release', { outputPath: '$.release' }));
  const wait = new sfn.Wait(scope, COALESCE_WAIT_STATE, {
    time: sfn.WaitTime.secondsPath('$.batch.waitSeconds'),
  });
  return new sfn.Choice(scope, 'Batched?')
    .when(sfn.Condition.isPresent('$.batch'), wait.next(close).next(parse).next(approvals))
    .otherwise(approvals);
}

/**
 * The approval of one release (Map iteration input `{release: StagingReadyV1, approvalId}`):
 * the approval-request Lambda invoked with .waitForTaskToken. An approval returns
 * ApprovalResultV1 (SendTaskSuccess); a rejection or a timeout decided by the promotion-events
 * Lambda fails the task with ApprovalRejected/ApprovalTimedOut and the ApprovalResultV1 as the
 * cause. The task's own timeout records TIMED_OUT on the pending approval. Every way ends with
 * the ApprovalResultV1 in `$.approval`, so the outcome is data, not an execution failure.
 */
function requestApproval(scope: Construct, kit: PipelineKit, approvalFn: lambda.IFunction): sfn.IChainable {
  const timeout = kit.approvalTimeout;
  acknowledgeVersionInvoke(scope, approvalFn);
  const ask = new tasks.LambdaInvoke(scope, 'Request approval', {
    lambdaFunction: approvalFn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      version: 1,
      taskToken: sfn.JsonPath.taskToken,
      'approvalId.$': '$.approvalId',
      'request.$': '$.release',
    }),
    taskTimeout: sfn.Timeout.duration(timeout),
    resultPath: '$.approval',
  });
  const recordTimeout = new tasks.DynamoUpdateItem(scope, 'Record approval timeout', {
    table: kit.props.state.table,
    key: approvalKey('$.approvalId'),
    updateExpression: 'SET #status = :timedOut',
    conditionExpression: '#status = :pending',
    expressionAttributeNames: { '#status': 'status' },
    expressionAttributeValues: {
      ':timedOut': tasks.DynamoAttributeValue.fromString('TIMED_OUT'),
      ':pending': tasks.DynamoAttributeValue.fromString('PENDING'),
    },
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
  });
  const timedOut = new sfn.Pass(scope, 'Approval timed out', {
    parameters: {
      version: 1,
      outcome: 'TIMED_OUT',
      'approvalId.$': '$.approvalId',
      'digest.$': '$.release.digest',
      decidedBy: 'releng',
      'decidedAt.$': '$$.State.EnteredTime',
      reason: `no decision within ${timeout.toHumanString()}`,
    },
    resultPath: '$.approval',
  });
  // No pending item, or decided in the same instant: the timeout is still this run's outcome.
  recordTimeout.addCatch(timedOut, {
    errors: ['DynamoDB.ConditionalCheckFailedException'],
    resultPath: sfn.JsonPath.DISCARD,
  });
  recordTimeout.next(timedOut);
  const decidedAgainst = new sfn.Pass(scope, 'Read the decision', {
    parameters: {
      'release.$': '$.release',
      'approvalId.$': '$.approvalId',
      approval: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.decision.Cause')),
    },
  });
  ask.addCatch(recordTimeout, { errors: ['States.Timeout'], resultPath: '$.timeout' });
  ask.addCatch(decidedAgainst, {
    errors: [APPROVAL_ERRORS.rejected, APPROVAL_ERRORS.timedOut],
    resultPath: '$.decision',
  });
  return ask;
}

/** One approval request per release, in parallel; `$.approvals` holds each outcome. */
function approvalPerRelease(scope: Construct, kit: PipelineKit, approvalFn: lambda.IFunction): sfn.Map {
  const approvals = new sfn.Map(scope, 'Request approvals', {
    itemsPath: '$.releases',
    maxConcurrency: 10,
    itemSelector: {
      'release.$': '$$.Map.Item.Value',
      approvalId: sfn.JsonPath.format(
        '{}-{}',
        sfn.JsonPath.executionName,
        sfn.JsonPath.stringAt('$$.Map.Item.Index'),
      ),
    },
    resultSelector: { 'items.$': '$', 'outcomes.$': '$[*].approval.outcome' },
    resultPath: '$.approvals',
  });
  approvals.itemProcessor(requestApproval(scope, kit, approvalFn));
  return approvals;
}

/** sync-to-prod of each approved release (a SIG with `--sig`), one after another. */
function syncApprovedReleases(scope: Construct, kit: PipelineKit): sfn.Map {
  const syncEach = new sfn.Map(scope, 'Sync approved to production', {
    itemsPath: '$.approvals.items',
    // Releases publish one after another; the file lists wait for all of them.
    maxConcurrency: 1,
    resultPath: sfn.JsonPath.DISCARD,
  });
  const approved = sfn.Condition.stringEquals('$.approval.outcome', 'APPROVED');
  syncEach.itemProcessor(
    new sfn.Choice(scope, 'Approved?')
      .when(
        sfn.Condition.and(approved, sfn.Condition.isPresent('$.release.sig')),
        kit.host(scope, 'Sync SIG to production', 'sync-to-prod', {
          major: at('$.release.major'),
          sig: at('$.release.sig'),
          'approved-digest': at('$.approval.digest'),
        }),
      )
      .when(
        approved,
        kit.host(scope, 'Sync to production', 'sync-to-prod', {
          major: at('$.release.major'),
          channel: at('$.release.channel'),
          revision: at('$.release.revision'),
          'approved-digest': at('$.approval.digest'),
        }),
      )
      .otherwise(new sfn.Pass(scope, 'Not approved: skipped')),
  );
  return syncEach;
}

/**
 * promotion — input `{version: 1, releases: StagingReadyV1[]}` (one release, or several at once:
 * 8 and 9, the main tree and SIGs), or `{version: 1, batch}` from promotion-events, whose
 * releases are read from the closed batch (readBatch). A SIG release (`sig` set) publishes its
 * tree with `sync-to-prod --sig`. Every release is approved or rejected on its own; then,
 * only if one was approved, under the publish lock: sync-to-prod of each approved release with
 * the approved digest, file lists once after every sync, unlock, notify. If none was approved,
 * production is untouched and the rejection reasons are notified.
 */
export function promotionDefinition(
  scope: Construct,
  kit: PipelineKit,
  approvalFn: lambda.IFunction,
): sfn.IChainable {
  const approvals = approvalPerRelease(scope, kit, approvalFn);

  const tally = new sfn.Pass(scope, 'Tally approvals', {
    parameters: {
      anyApproved: sfn.JsonPath.arrayContains(sfn.JsonPath.listAt('$.approvals.outcomes'), 'APPROVED'),
    },
    resultPath: '$.decision',
  });

  const outcomes = sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.approvals.items'));
  const notPublished = kit
    .notify(
      scope,
      'Notify not published',
      'releng promotion not published',
      sfn.JsonPath.format(
        'releng promotion {}: nothing approved, production untouched: {}',
        sfn.JsonPath.executionName,
        outcomes,
      ),
    )
    .next(new sfn.Succeed(scope, 'Production untouched'));

  const lock = { label: 'Publish lock', lockName: { value: PUBLISH_LOCK } } as const;
  const syncEach = syncApprovedReleases(scope, kit);
  const publish = new sfn.Parallel(scope, 'Publish', { resultPath: sfn.JsonPath.DISCARD });
  publish.branch(
    kit
      .checkEfs(scope, 'Check EFS')
      .next(kit.checkHost(scope, 'Check compose host'))
      .next(kit.acquire(scope, { ...lock, nowPath: '$.clock.now', ttl: PUBLISH_LOCK_TTL }))
      .next(syncEach)
      .next(kit.host(scope, 'Write file lists', 'file-lists', {})),
  );
  // Releasing a lock this execution does not hold is a no-op, so one failure path serves both.
  const onFailure = kit.failurePath(scope, 'promotion', [
    kit.release(scope, { ...lock, label: 'Publish lock after failure' }),
  ]);
  publish.addCatch(onFailure, { errors: ['States.ALL'], resultPath: FAILURE_PATH });
  approvals.addCatch(onFailure, { errors: ['States.ALL'], resultPath: FAILURE_PATH });
  const published = kit
    .release(scope, lock)
    .next(
      kit.notify(
        scope,
        'Notify published',
        'releng promotion published',
        sfn.JsonPath.format('releng promotion {} published: {}', sfn.JsonPath.executionName, outcomes),
      ),
    )
    .next(new sfn.Succeed(scope, 'Published'));

  approvals
    .next(tally)
    .next(
      new sfn.Choice(scope, 'Anything approved?')
        .when(sfn.Condition.booleanEquals('$.decision.anyApproved', true), publish.next(published))
        .otherwise(notPublished),
    );
  return readBatch(scope, kit, approvals);
}
