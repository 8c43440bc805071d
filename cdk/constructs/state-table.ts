import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { STATE_TABLE, stateKey } from '../../shared/state-table.ts';

/**
 * Lock items follow shared/state-table.ts (the Lambdas' adapters write the same shape): key
 * `LOCK#<name>`/`LOCK`, `owner` the holding execution's id (a redriven execution keeps its id,
 * so it can take its own lock again), `expiresAtEpoch` when the lock stops counting, and
 * `expiration` (the TTL attribute) equal to it, so DynamoDB eventually removes a dead lock.
 */
export const ACQUIRE_CONDITION = 'attribute_not_exists(pk) OR expiresAtEpoch < :now OR #owner = :owner';
/** Only the holder releases: a lock that expired and was taken over is left alone. */
export const RELEASE_CONDITION = '#owner = :owner';
const OWNER_NAME = { '#owner': 'owner' };

export interface LockStepOptions {
  /** Unique label for the state names: `Lane lock`. */
  readonly label: string;
  /** JSONPath to the lock name in the state input, or a fixed name. */
  readonly lockName: { path: string } | { value: string };
  /** JSONPath to the current epoch seconds (the preflight's clock reading). */
  readonly nowPath: string;
  /** How long the lock holds without its holder releasing it. */
  readonly ttl: Duration;
  /** How long to wait for a lock another execution holds before failing with LockHeld. */
  readonly waitForHolder?: Duration;
}

/**
 * One DynamoDB table for everything the pipelines coordinate on: lane locks, the global
 * publish lock, pending approvals (written by the approval-request Lambda: token, digest,
 * requester, expiry) and lane state. Step Functions writes the locks directly (conditional
 * PutItem/DeleteItem), so no Lambda sits between a pipeline and its lock.
 */
export class StateTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: STATE_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: STATE_TABLE.ttlAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Gives a Lambda the table: its name in the environment the adapters read, and read/write. */
  bindTo(fn: lambda.Function): void {
    fn.addEnvironment(LAMBDA_ENV.stateTable, this.table.tableName);
    this.table.grantReadWriteData(fn);
  }

  private lockKey(options: Pick<LockStepOptions, 'lockName'>): Record<string, tasks.DynamoAttributeValue> {
    const { pk, sk } = stateKey.lock('{}');
    const name =
      'path' in options.lockName ? sfn.JsonPath.stringAt(options.lockName.path) : options.lockName.value;
    return {
      [STATE_TABLE.partitionKey]: tasks.DynamoAttributeValue.fromString(
        'path' in options.lockName ? sfn.JsonPath.format(pk, name) : pk.replace('{}', name),
      ),
      [STATE_TABLE.sortKey]: tasks.DynamoAttributeValue.fromString(sk),
    };
  }

  /**
   * Conditional PutItem that takes the lock. While someone else holds it the put fails with
   * DynamoDB.ConditionalCheckFailedException, retried with backoff for `waitForHolder`;
   * after that the error is LockHeld.
   */
  acquire(scope: Construct, options: LockStepOptions): tasks.DynamoPutItem {
    const now = sfn.JsonPath.format('{}', Token.asString(sfn.JsonPath.numberAt(options.nowPath)));
    const expiry = sfn.JsonPath.format(
      '{}',
      Token.asString(sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt(options.nowPath), options.ttl.toSeconds())),
    );
    const put = new tasks.DynamoPutItem(scope, `${options.label}: take`, {
      table: this.table,
      item: {
        ...this.lockKey(options),
        owner: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.executionId),
        expiresAtEpoch: tasks.DynamoAttributeValue.numberFromString(expiry),
        [STATE_TABLE.ttlAttribute]: tasks.DynamoAttributeValue.numberFromString(expiry),
      },
      conditionExpression: ACQUIRE_CONDITION,
      expressionAttributeNames: OWNER_NAME,
      expressionAttributeValues: {
        ':now': tasks.DynamoAttributeValue.numberFromString(now),
        ':owner': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.executionId),
      },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
    });
    const waitMinutes = (options.waitForHolder ?? Duration.hours(2)).toMinutes();
    // 1, 2, 4, … minutes capped at 15: a few attempts cover hours of waiting.
    put.addRetry({
      errors: ['DynamoDB.ConditionalCheckFailedException'],
      interval: Duration.minutes(1),
      backoffRate: 2,
      maxDelay: Duration.minutes(15),
      maxAttempts: Math.max(1, Math.ceil(waitMinutes / 15) + 4),
    });
    put.addRetry({
      errors: ['DynamoDB.ProvisionedThroughputExceededException', 'DynamoDB.InternalServerErrorException'],
    });
    const held = new sfn.Fail(scope, `${options.label}: held by another execution`, {
      error: 'LockHeld',
      cause: `${options.label} is held by another execution`,
    });
    put.addCatch(held, { errors: ['DynamoDB.ConditionalCheckFailedException'] });
    return put;
  }

  /**
   * Conditional DeleteItem that releases the lock if we still hold it. Never fails the
   * execution: a lock we no longer hold is someone else's now, and its expiry covers the rest.
   */
  release(scope: Construct, options: Pick<LockStepOptions, 'label' | 'lockName'>): sfn.Chain {
    const del = new tasks.DynamoDeleteItem(scope, `${options.label}: release`, {
      table: this.table,
      key: this.lockKey(options),
      conditionExpression: RELEASE_CONDITION,
      expressionAttributeNames: OWNER_NAME,
      expressionAttributeValues: {
        ':owner': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.executionId),
      },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
    });
    del.addRetry({
      errors: ['DynamoDB.ProvisionedThroughputExceededException', 'DynamoDB.InternalServerErrorException'],
    });
    const released = new sfn.Pass(scope, `${options.label}: released`);
    del.addCatch(released, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    del.next(released);
    return sfn.Chain.custom(del, [released], released);
  }
}
