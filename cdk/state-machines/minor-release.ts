import { type CfnElement, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { at, type PipelineKit, releaseParams, withDefaults } from '../constructs/pipeline-kit.ts';
import { COMPOSE_REQUEST_DEFAULTS, composeEach } from './compose-each.ts';
import { closeProductionRoot, gaDaySteps } from './ga-day.ts';
import { nameStagingLock, STAGING_LOCK, STAGING_LOCK_TTL, STAGING_READY, verifyStaging } from './staging.ts';

/**
 * minor-release — input ComposeRequestV1 naming the produce composes of the new minor release
 * (with `revision`, e.g. 8.10). Composes each under its lane lock, then under the staging lock
 * runs minor-release (ISOs, CHECKSUM, kickstart, treeinfo, links, signatures), torrents and
 * verify-staging, makes the release's production root closed (750), and hands the verified
 * release to the promotion pipeline (the same approval and publish path), waiting for it to
 * finish; then GA day (ga-day.ts): the major link, the bitflip's approval, the bitflip, vault.
 */
export function minorReleaseDefinition(
  scope: Construct,
  kit: PipelineKit,
  promotion: sfn.IStateMachine,
  approvalFn: lambda.IFunction,
): sfn.IChainable {
  const lock = STAGING_LOCK;
  const ready = new sfn.Pass(scope, 'Staging ready', { parameters: STAGING_READY, resultPath: '$.ready' });
  const promote = new tasks.StepFunctionsStartExecution(scope, 'Promote', {
    stateMachine: promotion,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    name: sfn.JsonPath.format('{}-promotion', sfn.JsonPath.executionName),
    input: sfn.TaskInput.fromObject({
      version: 1,
      'releases.$': 'States.Array($.ready)',
    }),
    // Approval wait plus the publish itself.
    taskTimeout: sfn.Timeout.duration(kit.approvalTimeout.plus(Duration.hours(48))),
    // The output says whether the promotion published anything (the GA steps need to know).
    resultSelector: { 'status.$': '$.Status', 'output.$': '$.Output' },
    resultPath: '$.promotion',
  });

  const stack = Stack.of(scope);
  const promotionId = stack.getLogicalId(promotion.node.defaultChild as CfnElement);
  // cdk-nag prints a known region/account literally and an env-agnostic one as a pseudo parameter.
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  Validations.of(scope).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${promotionId}"}]}]}*]`,
    reason:
      'waiting for the promotion run (.sync) needs DescribeExecution/StopExecution on its executions, whose names are not known in advance',
  });
  const body = kit.guarded(
    scope,
    'Minor release',
    'minor-release',
    kit
      .checkEfs(scope, 'Check EFS')
      .next(kit.checkHost(scope, 'Check compose host', at('$.major')))
      .next(composeEach(scope, kit))
      // The composes took hours: read the clock again for the staging lock's expiry.
      .next(kit.checkEfs(scope, 'Check EFS again'))
      .next(kit.acquire(scope, { ...lock, nowPath: '$.clock.now', ttl: STAGING_LOCK_TTL }))
      .next(kit.host(scope, 'Stage minor release', 'minor-release', releaseParams()))
      .next(kit.host(scope, 'Make torrents', 'torrents', releaseParams()))
      .next(verifyStaging(scope, kit))
      .next(kit.release(scope, lock))
      .next(ready)
      .next(closeProductionRoot(scope, kit))
      .next(promote)
      .next(gaDaySteps(scope, kit, approvalFn)),
    [kit.release(scope, { ...lock, label: 'Staging lock after failure' })],
  );
  return withDefaults(scope, 'Apply defaults', COMPOSE_REQUEST_DEFAULTS)
    .next(nameStagingLock(scope))
    .next(body)
    .next(new sfn.Succeed(scope, 'Released'));
}
