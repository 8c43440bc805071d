import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, EXISTING_INFRA, resourcesOf, synth } from './synth.ts';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON, read as the template has it.
type Cfn = any;

type Statement = { Effect: string; Principal?: unknown; Action: string | string[]; Condition?: Cfn };

function topicPolicyStatements(json: CfnTemplate): Statement[] {
  const policies = resourcesOf(json, 'AWS::SNS::TopicPolicy').filter(([id]) =>
    id.startsWith('Notifications'),
  );
  expect(policies).toHaveLength(1);
  return policies[0]![1].Properties?.PolicyDocument.Statement;
}

describe('the notifications topic policy', () => {
  let agnostic: Statement[];
  let pinned: Statement[];
  beforeAll(() => {
    agnostic = topicPolicyStatements(synth().json);
    pinned = topicPolicyStatements(synth(EXISTING_INFRA).json);
  });

  it('still refuses publishing without TLS', () => {
    expect(agnostic).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it("lets CloudWatch alarms of the stack's own account publish, since the policy replaces the default", () => {
    const allow = pinned.filter((s) => s.Effect === 'Allow');
    expect(allow).toHaveLength(1);
    expect(allow[0]).toMatchObject({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    expect(JSON.stringify(allow[0]!.Condition.ArnLike['aws:SourceArn'])).toContain(
      ':cloudwatch:eu-west-1:123456789012:alarm:*',
    );
  });

  it('names the deploying account when the stack is environment-agnostic', () => {
    const [allow] = agnostic.filter((s) => s.Effect === 'Allow');
    expect(allow!.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
  });
});
