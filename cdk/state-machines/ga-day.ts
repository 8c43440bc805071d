import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { APPROVAL_ERRORS } from '../../shared/approvals/decide.ts';
import type { GaStep } from '../../shared/operations.ts';
import { acknowledgeVersionInvoke, type PipelineKit, releaseParams } from '../constructs/pipeline-kit.ts';

/** One ga-publish step on the compose host. */
function gaStep(scope: Construct, kit: PipelineKit, id: string, step: GaStep) {
  return kit.host(scope, id, 'ga-publish', { ...releaseParams(), step: { value: step } });
}

/**
 * Before the promotion publishes a new minor release: its production root is made at mode 750,
 * so the publish fills a tree mirrors cannot enter until the bitflip.
 */
export function closeProductionRoot(scope: Construct, kit: PipelineKit): sfn.IChainable {
  return gaStep(scope, kit, 'Close production root', 'close');
}

/**
 * The bitflip's own approval: the approval-request Lambda with .waitForTaskToken, as the
 * promotion asks for its approval, for the same verified release (`$.ready`, its digest) under
 * the id `<execution>-bitflip`. `releng approvals` lists it and `releng approve` decides it.
 */
function requestBitflip(scope: Construct, kit: PipelineKit, approvalFn: lambda.IFunction) {
  acknowledgeVersionInvoke(scope, approvalFn);
  return new tasks.LambdaInvoke(scope, 'Request bitflip approval', {
    lambdaFunction: approvalFn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      version: 1,
      taskToken: sfn.JsonPath.taskToken,
      approvalId: sfn.JsonPath.format('{}-bitflip', sfn.JsonPath.executionName),
      'request.$': '$.ready',
    }),
    taskTimeout: sfn.Timeout.duration(kit.approvalTimeout),
    resultPath: '$.bitflip',
  });
}

/**
 * GA day after the Promote step, only when the promotion published the release: production's
 * `<major>` link moves to it, a second approval opens it (the bitflip, 750 -> 755), the previous
 * minor release is vaulted, and the file lists are written again so mirrors see the new link.
 * A rejected or timed-out bitflip leaves the release published but closed, and says so.
 */
export function gaDaySteps(scope: Construct, kit: PipelineKit, approvalFn: lambda.IFunction): sfn.IChainable {
  const notOpened = kit
    .notify(
      scope,
      'Notify release left closed',
      'releng GA release left closed',
      sfn.JsonPath.format(
        'releng minor-release {}: the bitflip was not approved; {} stays published at mode 750',
        sfn.JsonPath.executionName,
        sfn.JsonPath.stringAt('$.revision'),
      ),
    )
    .next(new sfn.Pass(scope, 'Left closed'));
  const bitflip = requestBitflip(scope, kit, approvalFn);
  bitflip.addCatch(notOpened, {
    errors: [APPROVAL_ERRORS.rejected, APPROVAL_ERRORS.timedOut, 'States.Timeout'],
    resultPath: '$.bitflipDecision',
  });
  const opened = gaStep(scope, kit, 'Open release (bitflip)', 'open')
    .next(gaStep(scope, kit, 'Vault previous release', 'vault'))
    .next(kit.host(scope, 'Write file lists after GA', 'file-lists', {}));
  const ga = gaStep(scope, kit, 'Move major link', 'link')
    .next(bitflip)
    .next(
      new sfn.Choice(scope, 'Bitflip approved?')
        .when(sfn.Condition.stringEquals('$.bitflip.outcome', 'APPROVED'), opened)
        .otherwise(notOpened),
    );
  // The promotion's output (.sync:2: JSON) says whether anything was approved and published.
  const anyApproved = '$.promotion.output.decision.anyApproved';
  return new sfn.Choice(scope, 'Published?')
    .when(
      sfn.Condition.and(sfn.Condition.isPresent(anyApproved), sfn.Condition.booleanEquals(anyApproved, true)),
      ga,
    )
    .otherwise(new sfn.Pass(scope, 'Not published: GA steps skipped'));
}
