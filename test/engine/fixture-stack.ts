import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { HostOperationDocuments } from '../../cdk/constructs/host-documents.ts';
import { RunOnComposeHost } from '../../cdk/constructs/run-on-compose-host.ts';
import {
  type CfnTemplate,
  definitionsFromTemplate,
  type EngineDefinitions,
} from '../../cli/engine/definitions.ts';

/**
 * A small stack that uses every kind of Task the pipelines use, so the engine is tested on a
 * synthesized CDK app without depending on the real pipeline: a lane lock in DynamoDB, a host
 * operation through the host-command Lambda and the real SSM documents, SNS, SQS with a consumer Lambda, a
 * .waitForTaskToken approval Lambda and startExecution.
 */
function buildStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'EngineFixture', { env: { account: '000000000000', region: 'us-east-1' } });
  const table = new dynamodb.Table(stack, 'State', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    // The key schema of the app's state table: the functions/ stores the engine serves key by both.
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
  });
  const topic = new sns.Topic(stack, 'Notify');
  const queue = new sqs.Queue(stack, 'PromotionQueue');
  const fn = (id: string, handlerName: string) => {
    const f = new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    (f.node.defaultChild as lambda.CfnFunction).addMetadata('releng:function', handlerName);
    return f;
  };
  const approvalFn = fn('ApprovalFn', 'approval-request');
  const consumerFn = fn('ConsumerFn', 'promotion-events');
  consumerFn.addEventSource(new lambdaEvents.SqsEventSource(queue));
  const documents = new HostOperationDocuments(stack, 'HostDocuments');
  const hostCommandFn = fn('HostCommandFn', 'host-command');
  const commandLogs = new logs.LogGroup(stack, 'CommandLogs');

  const lockKey = {
    pk: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.lane')),
    sk: tasks.DynamoAttributeValue.fromString('LOCK'),
  };
  const holder = tasks.DynamoAttributeValue.fromString(sfn.JsonPath.executionId);
  const takeLock = new tasks.DynamoPutItem(stack, 'Take lane lock', {
    table,
    item: { ...lockKey, holder },
    conditionExpression: 'attribute_not_exists(pk) OR holder = :holder',
    expressionAttributeValues: { ':holder': holder },
    resultPath: sfn.JsonPath.DISCARD,
  });
  takeLock.addRetry({
    errors: ['DynamoDB.ConditionalCheckFailedException'],
    interval: Duration.seconds(1),
    maxAttempts: 200,
    backoffRate: 1,
  });
  const releaseLock = () =>
    new tasks.DynamoDeleteItem(stack, `Release lane lock ${stack.node.children.length}`, {
      table,
      key: lockKey,
      conditionExpression: 'holder = :holder',
      expressionAttributeValues: { ':holder': holder },
      resultPath: sfn.JsonPath.DISCARD,
    });
  const host = (id: string, operation: 'file-lists' | 'rollback', parameters = {}) =>
    new RunOnComposeHost(stack, id, {
      operation,
      documents,
      hostCommand: hostCommandFn,
      instanceId: 'i-0',
      outputLogGroup: commandLogs,
      parameters,
      resultPath: '$.command',
      parseOutput: true,
    });
  const failed = releaseLock().next(
    new sfn.Fail(stack, 'Host command failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' }),
  );
  const notify = new tasks.SnsPublish(stack, 'Announce', {
    topic,
    subject: 'compose done',
    message: sfn.TaskInput.fromJsonPathAt('$.lane'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const fileLists = host('Write file lists', 'file-lists');
  const rollback = host('Roll back', 'rollback', { major: { value: '8' } });
  for (const step of [fileLists, rollback]) {
    step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    step.next(releaseLock().next(notify));
  }
  const which = new sfn.Choice(stack, 'Which operation?')
    .when(sfn.Condition.stringEquals('$.operation', 'rollback'), rollback)
    .otherwise(fileLists);
  new sfn.StateMachine(stack, 'ComposePipeline', {
    definitionBody: sfn.DefinitionBody.fromChainable(takeLock.next(which)),
  });

  const approve = new tasks.LambdaInvoke(stack, 'Request approval', {
    lambdaFunction: approvalFn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ taskToken: sfn.JsonPath.taskToken, 'digest.$': '$.digest' }),
    resultPath: '$.approval',
    taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
  });
  approve.addCatch(
    new sfn.Fail(stack, 'Rejected', { error: 'ApprovalRejected', causePath: '$.error.Cause' }),
    {
      errors: ['ApprovalRejected'],
      resultPath: '$.error',
    },
  );
  const announce = new tasks.SqsSendMessage(stack, 'Announce published', {
    queue,
    messageBody: sfn.TaskInput.fromObject({ type: 'published', 'digest.$': '$.digest' }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const composeMachine = stack.node.findChild('ComposePipeline') as sfn.StateMachine;
  const startCompose = new tasks.StepFunctionsStartExecution(stack, 'Start follow-up compose', {
    stateMachine: composeMachine,
    input: sfn.TaskInput.fromObject({ lane: 'lane:8/Extras', operation: 'file-lists' }),
    name: sfn.JsonPath.format('{}-compose', sfn.JsonPath.executionName),
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    resultSelector: { 'status.$': '$.Status' },
    resultPath: '$.followUp',
  });
  new sfn.StateMachine(stack, 'PromotionPipeline', {
    definitionBody: sfn.DefinitionBody.fromChainable(approve.next(announce).next(startCompose)),
  });
  return stack;
}

export function fixtureTemplate(): CfnTemplate {
  return Template.fromStack(buildStack()).toJSON() as CfnTemplate;
}

export function fixtureDefinitions(): EngineDefinitions {
  return definitionsFromTemplate(fixtureTemplate());
}
