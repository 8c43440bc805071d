import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import {
  type CfnTemplate,
  definitionsFromTemplate,
  type EngineDefinitions,
} from '../../cli/engine/definitions.ts';

/**
 * A small stack that uses every kind of Task the pipelines use, so the engine is tested on a
 * synthesized CDK app without depending on the real pipeline: a lane lock in DynamoDB, a host
 * operation over SSM with a Wait/poll/Choice loop, SNS, SQS with a consumer Lambda, a
 * .waitForTaskToken approval Lambda and startExecution.
 */
function buildStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'EngineFixture', { env: { account: '000000000000', region: 'us-east-1' } });
  const table = new dynamodb.Table(stack, 'State', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
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
  const doc = (id: string, operation: string) => {
    const d = new ssm.CfnDocument(stack, id, {
      documentType: 'Command',
      content: { schemaVersion: '2.2', mainSteps: [] },
    });
    d.addMetadata('releng:operation', operation);
    return d;
  };
  const fileLists = doc('FileListsDoc', 'file-lists');
  const rollback = doc('RollbackDoc', 'rollback');

  const lockKey = { pk: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.lane')) };
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
  const send = (id: string, document: ssm.CfnDocument) =>
    new tasks.CallAwsService(stack, id, {
      service: 'ssm',
      action: 'sendCommand',
      parameters: { DocumentName: document.ref, InstanceIds: ['i-0'], Parameters: {} },
      iamResources: ['*'],
      resultSelector: { 'commandId.$': '$.Command.CommandId' },
      resultPath: '$.command',
    });
  const wait = new sfn.Wait(stack, 'Wait for host', { time: sfn.WaitTime.duration(Duration.seconds(30)) });
  const poll = new tasks.CallAwsService(stack, 'Poll host', {
    service: 'ssm',
    action: 'getCommandInvocation',
    parameters: { 'CommandId.$': '$.command.commandId', InstanceId: 'i-0' },
    iamResources: ['*'],
    resultSelector: { 'Status.$': '$.Status', 'ResponseCode.$': '$.ResponseCode' },
    resultPath: '$.invocation',
  });
  poll.addRetry({
    errors: ['Ssm.InvocationDoesNotExistException'],
    interval: Duration.seconds(1),
    maxAttempts: 3,
  });
  const failed = releaseLock().next(
    new sfn.Fail(stack, 'Host command failed', { error: 'HostCommandFailed', cause: 'releng-host failed' }),
  );
  const notify = new tasks.SnsPublish(stack, 'Announce', {
    topic,
    subject: 'compose done',
    message: sfn.TaskInput.fromJsonPathAt('$.lane'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const done = new sfn.Choice(stack, 'Done?')
    .when(sfn.Condition.stringEquals('$.invocation.Status', 'Success'), releaseLock().next(notify))
    .when(sfn.Condition.stringEquals('$.invocation.Status', 'InProgress'), wait)
    .otherwise(failed);
  wait.next(poll).next(done);
  const which = new sfn.Choice(stack, 'Which operation?')
    .when(sfn.Condition.stringEquals('$.operation', 'rollback'), send('Send rollback', rollback).next(wait))
    .otherwise(send('Send file-lists', fileLists).next(wait));
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
