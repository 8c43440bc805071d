import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEPLOY_VARIANTS, IGNORED_WARNINGS, lintTemplate } from '../../scripts/cfn-lint-variants.ts';

const dir = mkdtempSync(join(tmpdir(), 'releng-cfn-lint-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function templateFile(name: string, resources: Record<string, unknown>): string {
  const file = join(dir, `${name}.template.json`);
  writeFileSync(
    file,
    JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: resources }, null, 1),
  );
  return file;
}

describe('the cfn-lint step over the synthesized variants', () => {
  it('reports a template error as an error of that variant', () => {
    const file = templateFile('broken', {
      Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicNmae: 'releng' } },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } },
    });
    const result = lintTemplate('broken', file);
    expect(result.variant).toBe('broken');
    expect(result.errors).toHaveLength(2);
    expect(result.errors.join('\n')).toMatch(/:E\d{4}:.*TopicNmae/);
  });

  it('finds nothing in a sound template', () => {
    const file = templateFile('sound', {
      Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'releng' } },
    });
    expect(lintTemplate('sound', file)).toEqual({ variant: 'sound', errors: [], warnings: [] });
  });

  it('covers a new VPC, an existing VPC, and imported hosts with existing file systems', () => {
    expect(Object.keys(DEPLOY_VARIANTS)).toEqual(
      expect.arrayContaining(['new-vpc-new-efs', 'existing-vpc-new-efs', 'imported-hosts-existing-efs']),
    );
    for (const [rule, reason] of Object.entries(IGNORED_WARNINGS)) {
      expect(rule).toMatch(/^W\d{4}$/);
      expect(reason.length).toBeGreaterThan(20);
    }
  });
});
