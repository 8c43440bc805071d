import { Annotations, ArnFormat, Aws, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { bootstrapCommands, type EfsMount } from './host-bootstrap.ts';
import { HostInstall } from './host-install.ts';

/** The four trees a compose host mounts from EFS, by config.mounts key. */
type MountName = keyof ReleaseConfig['mounts'];
const MOUNT_NAMES: readonly MountName[] = ['koji', 'compose', 'staging', 'production'];

/** Where a host mounts a tree: config.mounts under `/`, the root releng-host runs with on AWS. */
const mountPointOf = (config: ReleaseConfig, name: MountName) => `/${config.mounts[name]}`;

export interface ComposeHostsProps {
  readonly config: ReleaseConfig;
  /** The releng config overrides the hosts get as their releng.config.json. */
  readonly configOverrides: unknown;
}

export class ComposeHostsError extends Error {
  override readonly name = 'ComposeHostsError';
}

/** What the host may do on its file systems over NFS, as its role. */
const EFS_CLIENT_ACTIONS = [
  'elasticfilesystem:ClientMount',
  'elasticfilesystem:ClientWrite',
  'elasticfilesystem:ClientRootAccess',
];

/**
 * The compose hosts the pipelines run releng-host on: existing instances imported by id, or
 * one created from a pinned Rocky 8 AMI whose first boot installs the SSM agent and the
 * toolchain and mounts the four trees through EFS access points (TLS, IAM). Either way an SSM
 * association installs the bundled host/ entry, Node.js and the stack's releng config on every
 * host, and reruns whenever the bundle or config changes, so a deploy updates what the hosts run.
 */
export class ComposeHosts extends Construct {
  /** The host every pipeline sends its commands to. */
  readonly primaryInstanceId: string;
  readonly instanceIds: string[];
  /** The EFS file systems behind the four mounts (the preflight checks them). */
  readonly fileSystemIds: Record<MountName, string>;
  /** Where the hosts' command output goes. */
  readonly commandLogs: logs.LogGroup;
  /** The install document and association that put releng-host and its config on the hosts. */
  readonly install: HostInstall;
  readonly instance?: ec2.Instance;
  readonly fileSystem?: efs.FileSystem;
  /** A created host's access point per tree (imported hosts mount their own way). */
  readonly accessPoints?: Record<MountName, efs.CfnAccessPoint>;

  constructor(scope: Construct, id: string, props: ComposeHostsProps) {
    super(scope, id);
    const aws = props.config.aws;
    const hosts = aws.composeHosts;
    if (hosts.tag && hosts.instanceIds.length === 0) {
      throw new ComposeHostsError(
        `aws.composeHosts.tag ${JSON.stringify(`${hosts.tag.key}=${hosts.tag.value}`)} needs instanceIds as well: ` +
          'a pipeline polls one instance for its command, so it must know which',
      );
    }
    if (hosts.instanceIds.length > 0 && !aws.efs) {
      throw new ComposeHostsError(
        `aws.composeHosts.instanceIds ${JSON.stringify(hosts.instanceIds)} names existing hosts but aws.efs is not set: ` +
          'existing hosts mount existing file systems, name them in aws.efs',
      );
    }
    if (aws.vpcId && aws.subnetIds.length === 0) {
      throw new ComposeHostsError(`aws.vpcId ${JSON.stringify(aws.vpcId)} is set but aws.subnetIds is empty`);
    }

    this.commandLogs = new logs.LogGroup(this, 'CommandLogs', {
      retention: logs.RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (hosts.instanceIds.length > 0 && aws.efs) {
      this.instanceIds = [...hosts.instanceIds];
      this.fileSystemIds = { ...aws.efs };
    } else {
      const created = this.createHost(props.config);
      this.instance = created.instance;
      this.fileSystem = created.fileSystem;
      this.accessPoints = created.accessPoints;
      this.instanceIds = [created.instance.instanceId];
      this.fileSystemIds = created.fileSystemIds;
    }
    this.primaryInstanceId = this.instanceIds[0]!;

    this.install = new HostInstall(this, 'Install', {
      config: props.config,
      configOverrides: props.configOverrides,
      instanceIds: this.instanceIds,
      hostRoles: this.hostPrincipals(),
      commandLogs: this.commandLogs,
    });
  }

  private createHost(config: ReleaseConfig) {
    const aws = config.aws;
    const vpc = aws.vpcId
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
          vpcId: aws.vpcId,
          // Only used to group the subnets; the instance's AZ follows from its subnet (see below).
          availabilityZones: aws.subnetIds.map((_, i) => `subnet-${i}-az`),
          privateSubnetIds: aws.subnetIds,
        })
      : this.createVpc();
    const hostSg = new ec2.SecurityGroup(this, 'HostSecurityGroup', {
      vpc,
      description: 'releng compose host: outbound to SSM, S3, EFS and koji',
      allowAllOutbound: true,
    });
    const efsSg = new ec2.SecurityGroup(this, 'EfsSecurityGroup', {
      vpc,
      description: 'releng EFS: NFS from the compose host only',
      allowAllOutbound: false,
    });
    efsSg.addIngressRule(hostSg, ec2.Port.tcp(2049), 'NFS from the compose host');

    let fileSystemIds: Record<MountName, string>;
    let fileSystem: efs.FileSystem | undefined;
    if (aws.efs) {
      fileSystemIds = { ...aws.efs };
    } else {
      fileSystem = new efs.FileSystem(this, 'FileSystem', {
        vpc,
        vpcSubnets: { subnets: vpc.privateSubnets },
        securityGroup: efsSg,
        encrypted: true,
        performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
        throughputMode: efs.ThroughputMode.ELASTIC,
        enableAutomaticBackups: true,
        removalPolicy: RemovalPolicy.RETAIN,
        // The policy below names the one client; CDK's own statement would allow any IAM principal.
        allowAnonymousAccess: true,
      });
      const id = fileSystem.fileSystemId;
      fileSystemIds = { koji: id, compose: id, staging: id, production: id };
    }

    const role = new iam.Role(this, 'HostRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'releng compose host: SSM agent, command output, signing key, EFS',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'the SSM agent needs exactly this managed policy to receive Run Command and associations',
    });
    this.grantCommandLogging(role);
    const accessPoints = this.createAccessPoints(fileSystemIds, !aws.efs);
    this.grantEfsClient(role, fileSystemIds, accessPoints, fileSystem);

    const instance = new ec2.Instance(this, 'Host', {
      vpc,
      vpcSubnets: { subnets: [vpc.privateSubnets[0]!] },
      instanceType: new ec2.InstanceType(aws.composeHosts.instanceType),
      machineImage: this.machineImage(config),
      securityGroup: hostSg,
      role,
      requireImdsv2: true,
      detailedMonitoring: true,
      disableApiTermination: true,
      blockDevices: [
        {
          deviceName: '/dev/sda1',
          volume: ec2.BlockDeviceVolume.ebs(200, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });
    if (aws.vpcId) {
      // An imported subnet's AZ is unknown offline; EC2 takes it from SubnetId.
      (instance.node.defaultChild as ec2.CfnInstance).addPropertyDeletionOverride('AvailabilityZone');
    }
    if (fileSystem) instance.node.addDependency(fileSystem.mountTargetsAvailable);
    const mounts: EfsMount[] = MOUNT_NAMES.map((name) => ({
      mountPoint: mountPointOf(config, name),
      fileSystemId: fileSystemIds[name],
      accessPointId: accessPoints[name].attrAccessPointId,
    }));
    instance.userData.addCommands(...bootstrapCommands(mounts));
    return { instance, fileSystem, fileSystemIds, accessPoints };
  }

  /**
   * The AMI, pinned so that a deploy never replaces the host on its own: aws.composeHosts.amiId,
   * else the SSM parameter read once at synth and kept in cdk.context.json. An environment-
   * agnostic stack cannot look it up, so there the parameter is resolved at every deploy.
   */
  private machineImage(config: ReleaseConfig): ec2.IMachineImage {
    const hosts = config.aws.composeHosts;
    const pinnedImage = (imageId: string): ec2.IMachineImage => {
      Validations.of(this).acknowledge({
        id: 'CloudFormation-Validate::W9010',
        reason: 'the AMI id is pinned on purpose: a value read at deploy time would replace the host',
      });
      const image = { imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() };
      return { getImage: () => image };
    };
    if (hosts.amiId) return pinnedImage(hosts.amiId);
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
      Annotations.of(this).addWarningV2(
        'releng:ami-not-pinned',
        `the compose host's AMI is read from ${hosts.amiParameter} at every deploy, and a new value replaces ` +
          'the host: set aws.composeHosts.amiId, or aws.account and aws.region to cache it in cdk.context.json',
      );
      return ec2.MachineImage.fromSsmParameter(hosts.amiParameter, { os: ec2.OperatingSystemType.LINUX });
    }
    // Looked up once here (the CLI fills the context and caches it in cdk.context.json).
    const { imageId } = ec2.MachineImage.fromSsmParameter(hosts.amiParameter, {
      cachedInContext: true,
    }).getImage(this);
    if (imageId.startsWith('dummy-value-for-')) {
      Validations.of(this).acknowledge({
        id: 'CloudFormation-Validate::E1152',
        reason: 'offline synth before the AMI lookup: CDK stands in a placeholder, the CLI looks the id up',
      });
    }
    return pinnedImage(imageId);
  }

  /**
   * One access point per tree, each with its own root directory (created root-owned, 0755) and
   * root as its POSIX user: releng-host runs as root and rsync keeps owners. A tree alone on its
   * file system keeps the file system's root; trees that share one get a directory each.
   */
  private createAccessPoints(
    fileSystemIds: Record<MountName, string>,
    created: boolean,
  ): Record<MountName, efs.CfnAccessPoint> {
    const names = MOUNT_NAMES;
    const sharers = (name: MountName) => names.filter((n) => fileSystemIds[n] === fileSystemIds[name]).length;
    const entries = names.map((name) => {
      const path = created || sharers(name) > 1 ? `/${name}` : '/';
      const accessPoint = new efs.CfnAccessPoint(this, `AccessPoint-${name}`, {
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
  private grantEfsClient(
    role: iam.Role,
    fileSystemIds: Record<MountName, string>,
    accessPoints: Record<MountName, efs.CfnAccessPoint>,
    fileSystem: efs.FileSystem | undefined,
  ): void {
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

  /**
   * Before streaming command output the SSM agent creates the log group (and describes it and
   * its streams); when that is denied it silently stops streaming. Stream writes come from
   * HostInstall.
   */
  private grantCommandLogging(role: iam.Role): void {
    const group = this.commandLogs;
    const groupArn = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: group.logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'],
        resources: [groupArn, group.logGroupArn],
      }),
    );
    // DescribeLogGroups authorizes on the account's log groups, not on one group.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:DescribeLogGroups'],
        resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]',
      reason:
        'logs:DescribeLogGroups has no per-group resource; the SSM agent calls it before streaming output',
    });
  }

  private createVpc(): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'hosts', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
    });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      ),
    });
    return vpc;
  }

  /** The roles this stack can grant to: only a host it created (imported hosts keep their own). */
  private hostPrincipals(): iam.IRole[] {
    return this.instance ? [this.instance.role] : [];
  }
}
