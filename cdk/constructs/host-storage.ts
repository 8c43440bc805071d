import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { EfsMount } from './host-bootstrap.ts';

/** The four trees a compose host mounts from EFS, by config.mounts key. */
export type MountName = keyof ReleaseConfig['mounts'];
const MOUNT_NAMES: readonly MountName[] = ['koji', 'compose', 'staging', 'production'];

/** Where a host mounts a tree: config.mounts under `/`, the root releng-host runs with on AWS. */
const mountPointOf = (config: ReleaseConfig, name: MountName) => `/${config.mounts[name]}`;

/** What the host may do on its file systems over NFS, as its role. */
const EFS_CLIENT_ACTIONS = [
  'elasticfilesystem:ClientMount',
  'elasticfilesystem:ClientWrite',
  'elasticfilesystem:ClientRootAccess',
];

/** The network and file systems of a host the stack creates. */
export interface HostStorage {
  readonly vpc: ec2.IVpc;
  readonly hostSecurityGroup: ec2.SecurityGroup;
  /** The file system the stack created; undefined when aws.efs names existing ones. */
  readonly fileSystem?: efs.FileSystem;
  readonly fileSystemIds: Record<MountName, string>;
  readonly accessPoints: Record<MountName, efs.CfnAccessPoint>;
}

/**
 * The configured VPC or a new one, the host's and EFS's security groups (NFS from the host
 * only), the configured file systems or one new encrypted one, and an access point per tree.
 * Created directly in `scope` (ComposeHosts), so every resource keeps its logical id.
 */
export function createHostStorage(scope: Construct, config: ReleaseConfig): HostStorage {
  const aws = config.aws;
  const vpc = aws.vpcId
    ? ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
        vpcId: aws.vpcId,
        // Only used to group the subnets; the instance's AZ follows from its subnet.
        availabilityZones: aws.subnetIds.map((_, i) => `subnet-${i}-az`),
        privateSubnetIds: aws.subnetIds,
      })
    : createVpc(scope);
  const hostSecurityGroup = new ec2.SecurityGroup(scope, 'HostSecurityGroup', {
    vpc,
    description: 'releng compose host: outbound to SSM, S3, EFS and koji',
    allowAllOutbound: true,
  });
  const efsSg = new ec2.SecurityGroup(scope, 'EfsSecurityGroup', {
    vpc,
    description: 'releng EFS: NFS from the compose host only',
    allowAllOutbound: false,
  });
  efsSg.addIngressRule(hostSecurityGroup, ec2.Port.tcp(2049), 'NFS from the compose host');

  let fileSystemIds: Record<MountName, string>;
  let fileSystem: efs.FileSystem | undefined;
  if (aws.efs) {
    fileSystemIds = { ...aws.efs };
  } else {
    fileSystem = new efs.FileSystem(scope, 'FileSystem', {
      vpc,
      vpcSubnets: { subnets: vpc.privateSubnets },
      securityGroup: efsSg,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      enableAutomaticBackups: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // grantEfsClient's policy names the one client; CDK's own statement would allow any IAM principal.
      allowAnonymousAccess: true,
    });
    const id = fileSystem.fileSystemId;
    fileSystemIds = { koji: id, compose: id, staging: id, production: id };
  }
  const accessPoints = createAccessPoints(scope, fileSystemIds, !aws.efs);
  return { vpc, hostSecurityGroup, fileSystem, fileSystemIds, accessPoints };
}

/** What the host's first boot mounts: each tree's file system through its access point. */
export function hostMounts(config: ReleaseConfig, storage: HostStorage): EfsMount[] {
  return MOUNT_NAMES.map((name) => ({
    mountPoint: mountPointOf(config, name),
    fileSystemId: storage.fileSystemIds[name],
    accessPointId: storage.accessPoints[name].attrAccessPointId,
  }));
}

/**
 * One access point per tree, each with its own root directory (created root-owned, 0755) and
 * root as its POSIX user: releng-host runs as root and rsync keeps owners. A tree alone on its
 * file system keeps the file system's root; trees that share one get a directory each.
 */
function createAccessPoints(
  scope: Construct,
  fileSystemIds: Record<MountName, string>,
  created: boolean,
): Record<MountName, efs.CfnAccessPoint> {
  const names = MOUNT_NAMES;
  const sharers = (name: MountName) => names.filter((n) => fileSystemIds[n] === fileSystemIds[name]).length;
  const entries = names.map((name) => {
    const path = created || sharers(name) > 1 ? `/${name}` : '/';
    const accessPoint = new efs.CfnAccessPoint(scope, `AccessPoint-${name}`, {
      fileSystemId: fileSystemIds[name],
      rootDirectory: {
        path,
        creationInfo: path === '/' ? undefined : { ownerUid: '0', ownerGid: '0', permissions: '755' },
      },
      posixUser: { uid: '0', gid: '0' },
      accessPointTags: [{ key: 'Name', value: `releng-${name}` }],
    });
    return [name, accessPoint] as const;
  });
  return Object.fromEntries(entries) as Record<MountName, efs.CfnAccessPoint>;
}

/**
 * The host mounts, writes and acts as root only through its access points. A file system the
 * stack creates also gets a policy: TLS only, and no Allow for anyone but the host role, so
 * anonymous (non-IAM) clients are refused.
 */
export function grantEfsClient(role: iam.Role, storage: HostStorage): void {
  const { fileSystemIds, accessPoints, fileSystem } = storage;
  const fileSystemArns = fileSystem
    ? [fileSystem.fileSystemArn]
    : [...new Set(Object.values(fileSystemIds))].map(
        (id) => `arn:${Aws.PARTITION}:elasticfilesystem:${Aws.REGION}:${Aws.ACCOUNT_ID}:file-system/${id}`,
      );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: EFS_CLIENT_ACTIONS,
      resources: fileSystemArns,
      conditions: {
        StringEquals: {
          'elasticfilesystem:AccessPointArn': Object.values(accessPoints).map((a) => a.attrArn),
        },
      },
    }),
  );
  if (!fileSystem) return;
  fileSystem.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyWithoutTls',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['*'],
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
  );
  fileSystem.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'ComposeHostThroughAccessPoints',
      principals: [new iam.ArnPrincipal(role.roleArn)],
      actions: EFS_CLIENT_ACTIONS,
      conditions: {
        Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' },
        // The access points' ARNs would make a cycle (they name this file system): any of its access points.
        Null: { 'elasticfilesystem:AccessPointArn': 'false' },
      },
    }),
  );
}

function createVpc(scope: Construct): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'hosts', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
    ],
  });
  vpc.addFlowLog('FlowLogs', {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(
      new logs.LogGroup(scope, 'FlowLogGroup', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
    ),
  });
  return vpc;
}
