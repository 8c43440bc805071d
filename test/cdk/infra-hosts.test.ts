import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRelengApp } from '../../cdk/build.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { type CfnTemplate, EXISTING_INFRA, resourcesOf, synth } from './synth.ts';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON, read as the template has it.
type Cfn = any;

const TREES = {
  koji: '/mnt/koji',
  compose: '/mnt/compose',
  staging: '/mnt/repos-staging',
  production: '/mnt/repos-production',
};

/** An existing VPC, the stack's own file system and host, in a known account and region. */
const EXISTING_VPC = {
  aws: {
    account: EXISTING_INFRA.aws.account,
    region: EXISTING_INFRA.aws.region,
    vpcId: EXISTING_INFRA.aws.vpcId,
    subnetIds: EXISTING_INFRA.aws.subnetIds,
  },
};
const PINNED_AMI = 'ami-0123456789abcdef0';

/** Placeholders for what CloudFormation fills in, so the script reads as the host sees it. */
function render(value: unknown, json: CfnTemplate): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, Cfn>;
  if (v['Fn::Join'])
    return v['Fn::Join'][1].map((part: unknown) => render(part, json)).join(v['Fn::Join'][0]);
  if (v.Ref === 'AWS::Region') return 'eu-west-1';
  if (v.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  const id = v.Ref ?? v['Fn::GetAtt']?.[0];
  const type = json.Resources[id]?.Type;
  if (type === 'AWS::EFS::FileSystem') return 'fs-0aaaaaaaaaaaaaaa0';
  if (type === 'AWS::EFS::AccessPoint') return `fsap-${id.replace(/[^a-z]/g, '').slice(0, 12)}`;
  throw new Error(`no placeholder for ${JSON.stringify(value)}`);
}

function userDataOf(json: CfnTemplate): string {
  const [[, instance]] = resourcesOf(json, 'AWS::EC2::Instance') as [[string, Cfn]];
  return render(instance.Properties.UserData['Fn::Base64'], json);
}

function bash(script: string, env: Record<string, string> = {}) {
  return spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });
}

/** The script's helper functions, as synthesized, with `sleep` made instant. */
function helpersOf(userData: string): string {
  const end = userData.indexOf('\nif ! systemctl is-enabled amazon-ssm-agent');
  expect(end).toBeGreaterThan(0);
  return `${userData.slice(0, end)}\nsleep() { :; }\n`;
}

describe('a created compose host (default config)', () => {
  let json: CfnTemplate;
  let userData: string;
  let work: string;
  beforeAll(() => {
    ({ json } = synth());
    userData = userDataOf(json);
    work = mkdtempSync(join(tmpdir(), 'releng-userdata-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('has user data that bash parses', () => {
    const file = join(work, 'user-data.sh');
    writeFileSync(file, userData);
    const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(userData).toMatch(/^#!\/bin\/bash\nset -euo pipefail\n/);
  });

  it('installs the SSM agent for the host architecture when the AMI has none, then enables it', () => {
    expect(userData).toContain('if ! systemctl is-enabled amazon-ssm-agent');
    expect(userData).toContain(
      'retry 5 dnf -y install "https://s3.eu-west-1.amazonaws.com/amazon-ssm-eu-west-1/latest/linux_$ssm_arch/amazon-ssm-agent.rpm"',
    );
    expect(userData).toContain('x86_64) ssm_arch=amd64');
    expect(userData).toContain('aarch64) ssm_arch=arm64');
    expect(userData).toContain('systemctl enable --now amazon-ssm-agent');
    expect(userData.indexOf('amazon-ssm-agent')).toBeLessThan(userData.indexOf('epel-release'));
  });

  it('installs the seed toolchain with retries, EPEL first, and Node.js 20', () => {
    const install = userData.split('\n').find((l) => l.includes('dnf -y install pungi'));
    expect(install).toMatch(/^retry 5 dnf -y install /);
    for (const pkg of [
      'pungi',
      'createrepo_c',
      'dnf-plugins-core',
      'rsync',
      'gnupg2',
      'rpm-sign',
      'mktorrent',
      'util-linux',
      'git',
      '/usr/bin/hardlink',
    ])
      expect(install!.split(' ')).toContain(pkg);
    expect(userData).toContain('retry 5 dnf -y install dnf-plugins-core epel-release');
    expect(userData.indexOf('epel-release')).toBeLessThan(userData.indexOf('mktorrent'));
    expect(userData).toContain('retry 5 dnf -y module install nodejs:20/common');
    expect(userData).toContain('retry 5 install_efs_utils');
    expect(userData).toContain('dnf -y install amazon-efs-utils');
  });

  it('fails when a tool is still missing after the install, naming it', () => {
    const line = userData.split('\n').find((l) => l.startsWith('require_commands '))!;
    for (const tool of [
      'pungi-koji',
      'createrepo_c',
      'rsync',
      'gpg2',
      'rpmsign',
      'mktorrent',
      'hardlink',
      'git',
    ])
      expect(line.split(' ')).toContain(tool);
    expect(userData).toContain('dnf repoclosure --help');
    const r = bash(`${helpersOf(userData)}require_commands bash releng-no-such-tool rsync releng-nor-this`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('missing after install: releng-no-such-tool releng-nor-this');
  });

  it('retries a failing step and gives up after the last attempt', () => {
    const counter = join(work, 'attempts');
    writeFileSync(counter, '');
    const flaky = `flaky() { echo x >> ${counter}; [ "$(wc -l < ${counter})" -ge 3 ]; }`;
    const ok = bash(`${helpersOf(userData)}${flaky}\nretry 5 flaky`);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('attempt 2 of 5 failed: flaky');
    const gaveUp = bash(`${helpersOf(userData)}retry 5 false`);
    expect(gaveUp.status).toBe(1);
    expect(gaveUp.stderr).toContain('gave up after 5 attempts: false');
  });

  it('mounts each tree with efs-utils over TLS and IAM through its access point, retried and checked', () => {
    expect(userData).not.toMatch(/nfsvers=|mount -t nfs/);
    expect(userData).toContain('mount -t efs -o "$opts" "$fs" "$dir"');
    expect(userData).toContain('opts="_netdev,noresvport,tls,iam,accesspoint=$ap"');
    expect(userData).toContain('echo "$fs $dir efs $opts 0 0" >> /etc/fstab');
    expect(userData).toContain('retry 10 mount_trees');
    for (const dir of Object.values(TREES)) {
      expect(userData).toMatch(new RegExp(`mount_tree fs-0a+0 fsap-[a-z]+ ${dir} `));
      expect(userData).toContain(`mountpoint -q ${dir} && findmnt -n -t nfs4 --mountpoint ${dir}`);
    }
  });

  it('fails the boot when a tree is not mounted', () => {
    const check = userData.split('\n').find((l) => l.startsWith('mountpoint -q /mnt/koji'))!;
    const r = bash(`set -e\n${check.replaceAll('/mnt/koji', join(work, 'not-mounted'))}\necho unreachable`);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('unreachable');
    expect(r.stderr).toContain('is not mounted from EFS');
  });

  it('creates one access point per tree with a pinned root directory and POSIX user', () => {
    const points = resourcesOf(json, 'AWS::EFS::AccessPoint').map(([, p]) => p.Properties!);
    expect(points).toHaveLength(4);
    expect(points.map((p) => p.RootDirectory.Path).sort()).toEqual(
      ['/compose', '/koji', '/production', '/staging'].sort(),
    );
    for (const p of points) {
      expect(p.RootDirectory.CreationInfo).toEqual({ OwnerUid: '0', OwnerGid: '0', Permissions: '755' });
      expect(p.PosixUser).toEqual({ Uid: '0', Gid: '0' });
      expect(p.FileSystemId).toEqual({ Ref: expect.stringMatching(/FileSystem/) });
    }
  });

  it('gives the file system a policy that refuses plain NFS and anonymous clients', () => {
    const [[, fs]] = resourcesOf(json, 'AWS::EFS::FileSystem') as [[string, Cfn]];
    const statements: Cfn[] = fs.Properties.FileSystemPolicy.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(0);
    // With a policy in effect only what it allows is allowed: an anonymous client matches nothing.
    for (const s of allows) {
      expect(JSON.stringify(s.Principal)).toMatch(/HostRole/);
      expect(s.Condition.Bool['elasticfilesystem:AccessedViaMountTarget']).toBe('true');
      expect(s.Condition.Null['elasticfilesystem:AccessPointArn']).toBe('false');
    }
    expect(allows.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientRootAccess',
      'elasticfilesystem:ClientWrite',
    ]);
  });

  it('lets the host role mount, write and act as root only through its access points', () => {
    const statements = hostRoleStatements(json);
    const client = statements.find((s) => [s.Action].flat().includes('elasticfilesystem:ClientMount'));
    expect([client.Action].flat().sort()).toEqual([
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientRootAccess',
      'elasticfilesystem:ClientWrite',
    ]);
    expect(JSON.stringify(client.Resource)).toMatch(/FileSystem.*Arn/);
    const arns = client.Condition.StringEquals['elasticfilesystem:AccessPointArn'];
    expect(arns).toHaveLength(4);
    for (const arn of arns) expect(arn['Fn::GetAtt'][1]).toBe('Arn');
  });

  it('lets the SSM agent create and describe the command log group before it streams output', () => {
    const statements = hostRoleStatements(json);
    const logGroupId = resourcesOf(json, 'AWS::Logs::LogGroup').find(([id]) =>
      id.includes('CommandLogs'),
    )![0];
    const actionsOn = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).map((s) => JSON.stringify(s.Resource));
    for (const action of ['logs:CreateLogGroup', 'logs:DescribeLogStreams']) {
      expect(actionsOn(action).length, action).toBeGreaterThan(0);
      for (const resource of actionsOn(action)) expect(resource).toContain(logGroupId);
    }
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents'])
      expect(actionsOn(action).join(), action).toContain(logGroupId);
    expect(actionsOn('logs:DescribeLogGroups')).toEqual([expect.stringMatching(/:log-group:\*"/)]);
  });
});

/** Template parameters CloudFormation would fill from the AMI parameter at every deploy. */
function amiParameters(json: CfnTemplate): string[] {
  const parameters =
    (json as { Parameters?: Record<string, { Type: string; Default?: string }> }).Parameters ?? {};
  return Object.entries(parameters)
    .filter(
      ([, p]) => p.Type.startsWith('AWS::SSM::Parameter::Value') && p.Default === '/releng/compose-host/ami',
    )
    .map(([id]) => id);
}

function hostRoleStatements(json: CfnTemplate): Cfn[] {
  return resourcesOf(json, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes('HostRole'))
    .flatMap(([, p]) => p.Properties?.PolicyDocument.Statement);
}

describe('a created compose host over existing file systems', () => {
  let json: CfnTemplate;
  beforeAll(() => {
    ({ json } = synth({
      aws: { ...EXISTING_VPC.aws, efs: EXISTING_INFRA.aws.efs, composeHosts: { amiId: PINNED_AMI } },
    }));
  });

  it('puts an access point on each given file system: its root when alone, a directory when shared', () => {
    const points = resourcesOf(json, 'AWS::EFS::AccessPoint').map(([, p]) => p.Properties!);
    const byFs = points.map((p) => [p.FileSystemId, p.RootDirectory.Path]).sort();
    expect(byFs).toEqual([
      ['fs-0123456789abcdef0', '/'],
      ['fs-0123456789abcdef1', '/'],
      ['fs-0123456789abcdef2', '/production'],
      ['fs-0123456789abcdef2', '/staging'],
    ]);
    expect(resourcesOf(json, 'AWS::EFS::FileSystem')).toHaveLength(0);
  });

  it('scopes the host role to those file systems', () => {
    const client = hostRoleStatements(json).find((s) =>
      [s.Action].flat().includes('elasticfilesystem:ClientWrite'),
    );
    expect(
      JSON.stringify(client.Resource)
        .match(/file-system\/fs-[0-9a-f]+/g)
        ?.sort(),
    ).toEqual([
      'file-system/fs-0123456789abcdef0',
      'file-system/fs-0123456789abcdef1',
      'file-system/fs-0123456789abcdef2',
    ]);
  });

  it('launches the pinned AMI, not a parameter CloudFormation resolves at every deploy', () => {
    const [[, instance]] = resourcesOf(json, 'AWS::EC2::Instance') as [[string, Cfn]];
    expect(instance.Properties.ImageId).toBe(PINNED_AMI);
    expect(amiParameters(json)).toEqual([]);
    expect(JSON.stringify(json)).not.toContain('{{resolve:ssm');
  });
});

describe('the compose host AMI from the SSM parameter', () => {
  it('is read once at synth into the context, so a new parameter value does not replace the host', () => {
    const config = buildConfig(EXISTING_VPC);
    const first = buildRelengApp({ config, configOverrides: EXISTING_VPC, bundling: false, nag: false });
    const missing = first.app.synth().manifest.missing ?? [];
    const lookup = missing.find((m) => m.provider === 'ssm');
    expect(lookup?.props).toMatchObject({ parameterName: '/releng/compose-host/ami', region: 'eu-west-1' });

    const cached = 'ami-0fedcba9876543210';
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], [lookup!.key]: cached } });
    const { stack } = buildRelengApp({
      config,
      configOverrides: EXISTING_VPC,
      bundling: false,
      nag: false,
      app,
    });
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const [[, instance]] = resourcesOf(json, 'AWS::EC2::Instance') as [[string, Cfn]];
    expect(instance.Properties.ImageId).toBe(cached);
    expect(amiParameters(json)).toEqual([]);
  });

  it('warns at synth when an environment-agnostic stack can only resolve it at every deploy', () => {
    const { app } = buildRelengApp({ config: buildConfig({}), bundling: false, nag: false });
    const warnings = app
      .synth()
      .stacks.flatMap((s) => s.messages)
      .filter((m) => m.level === 'warning')
      .map((m) => String(m.entry.data));
    expect(warnings.join('\n')).toContain('set aws.composeHosts.amiId');
  });
});
