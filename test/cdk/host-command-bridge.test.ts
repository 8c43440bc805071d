import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, resourcesOf, synth } from './synth.ts';

/** The AWS wiring of event-driven host commands and of cleanup after an execution is stopped. */
let json: CfnTemplate;
beforeAll(() => {
  json = synth().json;
});

const functionId = (name: string) =>
  resourcesOf(json, 'AWS::Lambda::Function').find(([, r]) => r.Metadata?.['releng:function'] === name)?.[0];
const rules = () => resourcesOf(json, 'AWS::Events::Rule').map(([, r]) => r.Properties!);
const targetsOf = (rule: Record<string, any>) =>
  (rule.Targets as Array<{ Arn: { 'Fn::GetAtt': string[] } }>).map((t) => t.Arn['Fn::GetAtt'][0]);
const statementsOf = (fnId: string) => {
  const role = json.Resources[fnId]!.Properties!.Role['Fn::GetAtt'][0];
  return resourcesOf(json, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties!.Roles.some((r: { Ref: string }) => r.Ref === role))
    .flatMap(([, p]) => p.Properties!.PolicyDocument.Statement as Array<Record<string, any>>);
};
const allows = (fnId: string, action: string) =>
  statementsOf(fnId).filter((s) => [s.Action].flat().includes(action));

describe('host commands complete by event', () => {
  it('routes every final SSM invocation status to host-command-events', () => {
    const rule = rules().find((r) => r.EventPattern?.source?.[0] === 'aws.ssm')!;
    expect(rule.EventPattern).toEqual({
      source: ['aws.ssm'],
      'detail-type': ['EC2 Command Invocation Status-change Notification'],
      detail: { status: ['Success', 'Cancelled', 'TimedOut', 'Failed'] },
    });
    expect(targetsOf(rule)).toEqual([functionId('host-command-events')]);
  });

  it('runs the reconciliation sweep on a schedule, through the same function', () => {
    const sweep = rules().find((r) => r.ScheduleExpression)!;
    expect(sweep.ScheduleExpression).toBe('rate(5 minutes)');
    expect(targetsOf(sweep)).toEqual([functionId('host-command-events')]);
  });

  it('lets host-command send only the documents to the compose host, and host-command-events answer the pipelines', () => {
    const send = allows(functionId('host-command')!, 'ssm:SendCommand');
    expect(send).toHaveLength(1);
    expect(JSON.stringify(send[0]!.Resource)).toContain(':document/*');
    expect(JSON.stringify(send[0]!.Resource)).toContain(':instance/');
    const events = functionId('host-command-events')!;
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'])
      expect(allows(events, action).length, action).toBe(4);
    expect(allows(events, 'ssm:GetCommandInvocation')).toHaveLength(1);
  });
});

describe('an execution stopped from outside', () => {
  it('sends ABORTED, TIMED_OUT and FAILED executions of the four pipelines to execution-cleanup', () => {
    const rule = rules().find((r) => r.EventPattern?.source?.[0] === 'aws.states')!;
    expect(rule.EventPattern['detail-type']).toEqual(['Step Functions Execution Status Change']);
    expect(rule.EventPattern.detail.status).toEqual(['ABORTED', 'TIMED_OUT', 'FAILED']);
    const machines = resourcesOf(json, 'AWS::StepFunctions::StateMachine').map(([id]) => id);
    expect(machines).toHaveLength(4);
    expect(rule.EventPattern.detail.stateMachineArn.map((a: { Ref: string }) => a.Ref).sort()).toEqual(
      machines.sort(),
    );
    expect(targetsOf(rule)).toEqual([functionId('execution-cleanup')]);
  });

  it('lets execution-cleanup cancel commands and release locks in the state table', () => {
    const cleanup = functionId('execution-cleanup')!;
    expect(allows(cleanup, 'ssm:CancelCommand')).toHaveLength(1);
    expect(statementsOf(cleanup).some((s) => [s.Action].flat().includes('dynamodb:DeleteItem'))).toBe(true);
  });
});
