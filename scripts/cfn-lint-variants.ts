/**
 * Synthesizes the stack for every way it is deployed and runs cfn-lint on each template.
 * Exit 1 when cfn-lint reports an error in any of them; warnings are printed, and only the
 * rule ids in IGNORED_WARNINGS are left out. Usage: npx tsx scripts/cfn-lint-variants.ts [--keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildRelengApp } from '../cdk/build.ts';
import { buildConfig } from '../shared/config/load.ts';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const VPC = { vpcId: 'vpc-0abc12345def67890', subnetIds: ['subnet-0aaa1111bbbb2222c'] };
const EFS = {
  koji: 'fs-0123456789abcdef0',
  compose: 'fs-0123456789abcdef1',
  staging: 'fs-0123456789abcdef2',
  production: 'fs-0123456789abcdef2',
};

/** The config of each way the stack can be deployed, by name. */
export const DEPLOY_VARIANTS: Record<string, unknown> = {
  'new-vpc-new-efs': {},
  'new-vpc-new-efs-pinned': {
    aws: { account: ACCOUNT, region: REGION, composeHosts: { amiId: 'ami-0123456789abcdef0' } },
  },
  'existing-vpc-new-efs': {
    aws: { account: ACCOUNT, region: REGION, ...VPC, composeHosts: { amiId: 'ami-0123456789abcdef0' } },
  },
  'existing-vpc-existing-efs-new-host': {
    aws: {
      account: ACCOUNT,
      region: REGION,
      ...VPC,
      efs: EFS,
      composeHosts: { amiId: 'ami-0123456789abcdef0' },
    },
  },
  'imported-hosts-existing-efs': {
    aws: {
      account: ACCOUNT,
      region: REGION,
      ...VPC,
      efs: EFS,
      composeHosts: { instanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210'] },
      notificationEmails: ['releng@example.org'],
    },
  },
  'koji-hub-poller': {
    koji: { hubUrl: 'https://koji.rockylinux.org/kojihub', pollMinutes: 10 },
  },
};

/** Warnings cfn-lint may report that we accept, each with the reason. */
export const IGNORED_WARNINGS: Record<string, string> = {
  W3005:
    'CDK adds DependsOn on a role next to the GetAtt of it, so the role policy exists before the ' +
    'function or state machine; the duplicate dependency is harmless',
  W3010:
    'a stack with an account and region gets its VPC subnets in the availability zones CDK looked up ' +
    'and cached in cdk.context.json (offline: dummy names); pinning them keeps the subnets stable',
};

/** The template of one variant, synthesized offline without bundling or cdk-nag. */
export function variantTemplate(overrides: unknown): unknown {
  const { app, stack } = buildRelengApp({
    config: buildConfig(overrides),
    configOverrides: overrides,
    bundling: false,
    nag: false,
  });
  return app.synth().getStackByName(stack.stackName).template;
}

export interface LintResult {
  readonly variant: string;
  readonly errors: string[];
  readonly warnings: string[];
}

/** cfn-lint's parseable lines for one template, split into errors and (not ignored) warnings. */
export function lintTemplate(variant: string, file: string): LintResult {
  const ignore = Object.keys(IGNORED_WARNINGS);
  const args = [
    '--format',
    'parseable',
    ...(ignore.length ? ['--ignore-checks', ...ignore] : []),
    '--',
    file,
  ];
  const run = spawnSync('cfn-lint', args, { encoding: 'utf8' });
  if (run.error) throw new Error(`cfn-lint could not run: ${run.error.message}`);
  // Exit status is a bit set: 2 errors, 4 warnings, 8 informational; 1 is a failure of cfn-lint itself.
  if (run.status === null || run.status & 1) throw new Error(`cfn-lint failed on ${file}: ${run.stderr}`);
  const lines = run.stdout.split('\n').filter(Boolean);
  // Parseable lines: file:line:column:endline:endcolumn:RULE:message; E rules are errors.
  const rule = (line: string) => line.slice(file.length + 1).split(':')[4] ?? '';
  return {
    variant,
    errors: lines.filter((l) => rule(l).startsWith('E')),
    warnings: lines.filter((l) => rule(l).startsWith('W')),
  };
}

function main(argv: string[]): number {
  const dir = mkdtempSync(join(tmpdir(), 'releng-cfn-lint-'));
  let failed = 0;
  try {
    for (const [variant, overrides] of Object.entries(DEPLOY_VARIANTS)) {
      const file = join(dir, `${variant}.template.json`);
      writeFileSync(file, JSON.stringify(variantTemplate(overrides), null, 1));
      const result = lintTemplate(variant, file);
      for (const line of [...result.errors, ...result.warnings]) console.log(line.slice(dir.length + 1));
      console.log(`cfn-lint ${variant}: ${result.errors.length} errors, ${result.warnings.length} warnings`);
      if (result.errors.length > 0) failed++;
    }
  } finally {
    if (argv.includes('--keep')) console.log(`templates kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
