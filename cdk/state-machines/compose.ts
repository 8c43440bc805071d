import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { at, type PipelineKit, withDefaults } from '../constructs/pipeline-kit.ts';
import { COMPOSE_REQUEST_DEFAULTS, composeEach } from './compose-each.ts';

/**
 * compose — input ComposeRequestV1. Checks EFS, composes each requested compose under its lane
 * lock, then starts staging with what was built (execution `<name>-staging`, so a redrive does
 * not start it twice).
 */
export function composeDefinition(
  scope: Construct,
  kit: PipelineKit,
  staging: sfn.IStateMachine,
): sfn.IChainable {
  const startStaging = new tasks.StepFunctionsStartExecution(scope, 'Start staging', {
    stateMachine: staging,
    integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
    name: sfn.JsonPath.format('{}-staging', sfn.JsonPath.executionName),
    input: sfn.TaskInput.fromObject({
      version: 1,
      'major.$': '$.major',
      'channel.$': '$.channel',
      'revision.$': '$.revision',
      'composes.$': '$.composes[*].name',
      'sigs.$': '$.sigs',
      'requestedBy.$': '$.requestedBy',
      'requestId.$': '$.requestId',
    }),
    resultSelector: { 'executionArn.$': '$.ExecutionArn' },
    taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
    resultPath: '$.staging',
  });
  const body = kit.guarded(
    scope,
    'Compose release',
    'compose',
    kit
      .checkEfs(scope, 'Check EFS')
      .next(kit.checkHost(scope, 'Check compose host', at('$.major')))
      .next(composeEach(scope, kit))
      .next(startStaging),
  );
  // Koji intake names one execution per lane and quiet window; waiting out the window before
  // the lane lock lets every build tagged in it join this compose instead of a follow-up.
  const quietWindow = new sfn.Wait(scope, 'Quiet window', {
    time: sfn.WaitTime.secondsPath('$.quietSeconds'),
  });
  return withDefaults(scope, 'Apply defaults', COMPOSE_REQUEST_DEFAULTS)
    .next(quietWindow)
    .next(body)
    .next(new sfn.Succeed(scope, 'Composed'));
}
