import { Template } from 'aws-cdk-lib/assertions';
import { buildRelengApp } from '../../cdk/build.ts';
import { buildConfig } from '../../shared/config/load.ts';

export type CfnTemplate = {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }
  >;
  Outputs?: Record<string, unknown>;
};

/** Synthesizes the app for config overrides, without bundling and without cdk-nag. */
export function synth(overrides: unknown = {}) {
  const config = buildConfig(overrides);
  const { app, stack } = buildRelengApp({ config, configOverrides: overrides, bundling: false, nag: false });
  const template = Template.fromStack(stack);
  return { app, stack, config, template, json: template.toJSON() as CfnTemplate };
}

/** The resources of one type, by logical id. */
export function resourcesOf(json: CfnTemplate, type: string) {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** A config that names existing hosts and file systems instead of creating them. */
export const EXISTING_INFRA = {
  aws: {
    account: '123456789012',
    region: 'eu-west-1',
    vpcId: 'vpc-0abc12345def67890',
    subnetIds: ['subnet-0aaa1111bbbb2222c'],
    efs: {
      koji: 'fs-0123456789abcdef0',
      compose: 'fs-0123456789abcdef1',
      staging: 'fs-0123456789abcdef2',
      production: 'fs-0123456789abcdef2',
    },
    composeHosts: { instanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210'] },
    approvers: ['arn:aws:iam::123456789012:role/releng-approver'],
    notificationEmails: ['releng@example.org'],
  },
};
