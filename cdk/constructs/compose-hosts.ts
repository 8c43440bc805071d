import { Annotations, ArnFormat, Aws, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { bootstrapCommands } from './host-bootstrap.ts';
import { HostInstall } from './host-install.ts';
import { createHostStorage, grantEfsClient, hostMounts, type MountName } from './host-storage.ts';

export interface ComposeHostsProps {
  readonly config: ReleaseConfig;
  /** The releng config overrides the hosts get as their releng.config.json. */
  readonly configOverrides: unknown;
}

export class ComposeHostsError extends Error {
  override readonly name = 'ComposeHostsError';
}

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
    const storage = createHostStorage(this, config);
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
    grantEfsClient(role, storage);
    const instance = new ec2.Instance(this, 'Host', {
      vpc: storage.vpc,
      vpcSubnets: { subnets: [storage.vpc.privateSubnets[0]!] },
      instanceType: new ec2.InstanceType(aws.composeHosts.instanceType),
      machineImage: this.machineImage(config),
      securityGroup: storage.hostSecurityGroup,
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
    if (storage.fileSystem) instance.node.addDependency(storage.fileSystem.mountTargetsAvailable);
    instance.userData.addCommands(...bootstrapCommands(hostMounts(config, storage)));
    return { instance, ...storage };
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

  /** The roles this stack can grant to: only a host it created (imported hosts keep their own). */
  private hostPrincipals(): iam.IRole[] {
    return this.instance ? [this.instance.role] : [];
  }
}
