import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { resourcesOf, synth } from '../cdk/synth.ts';

/**
 * promotion-events believes staging-ready only from the staging state machine's role: the
 * deployed Lambda must be told that role's unique id (what SQS reports as SenderId), not a name.
 */
describe('promotion-events on AWS', () => {
  it("is given the staging state machine role's RoleId as the one pipeline sender", () => {
    const { stack, json } = synth();
    const staging = stack.pipelines.staging.stateMachine;
    const roleId = stack.getLogicalId(staging.role.node.defaultChild as CfnElement);
    const [[, fn] = []] = resourcesOf(json, 'AWS::Lambda::Function').filter(
      ([, f]) => f.Metadata?.['releng:function'] === 'promotion-events',
    );
    expect(fn?.Properties?.Environment.Variables[LAMBDA_ENV.pipelineSenderIds]).toEqual({
      'Fn::GetAtt': [roleId, 'RoleId'],
    });
  });
});
