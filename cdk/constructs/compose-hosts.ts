import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Aws, BundlingOutput, DockerImage, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { HostInstall } from './host-install.ts';

/** The four EFS mounts of a compose host, by config key, and where they are mounted. */
export const HOST_MOUNTS = {
  koji: '/mnt/koji',
  compose: '/mnt/compose',
  staging: '/mnt/repos-staging',
  production: '/mnt/repos-production',
} as const;
type MountName = keyof typeof HOST_MOUNTS;

export interface ComposeHostsProps {
  readonly config: ReleaseConfig;
  /** The releng config overrides the hosts get as their releng.config.json. */
  readonly configOverrides: unknown;
}

export class ComposeHostsError extends Error {
  override readonly name = 'ComposeHostsError';
}

const NFS_OPTIONS = 'nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,_netdev';

/**
 * The compose hosts the pipelines run releng-host on: existing instances imported by id, or
 * one created from the Rocky 8 AMI in the configured SSM parameter, with its EFS mounts. Either
 * way an SSM association installs the bundled host/ entry, Node.js and the stack's releng
 * config on every host, and reruns whenever the bundle or config changes, so a deploy updates
 * what the hosts run.
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
      });
      const id = fileSystem.fileSystemId;
      fileSystemIds = { koji: id, compose: id, staging: id, production: id };
    }

    const role = new iam.Role(this, 'HostRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'releng compose host: SSM agent, command output, signing key',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'the SSM agent needs exactly this managed policy to receive Run Command and associations',
    });
    const instance = new ec2.Instance(this, 'Host', {
      vpc,
      vpcSubnets: { subnets: [vpc.privateSubnets[0]!] },
      instanceType: new ec2.InstanceType(aws.composeHosts.instanceType),
      machineImage: ec2.MachineImage.fromSsmParameter(aws.composeHosts.amiParameter, {
        os: ec2.OperatingSystemType.LINUX,
      }),
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
    instance.userData.addCommands(...mountCommands(fileSystemIds, !aws.efs));
    return { instance, fileSystem, fileSystemIds };
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

/** Mounts each file system at its mount point through /etc/fstab, so reboots keep them. */
export function mountCommands(fileSystemIds: Record<MountName, string>, subdirectories: boolean): string[] {
  const lines = ['set -euo pipefail', 'dnf -y install nfs-utils'];
  for (const [name, mountPoint] of Object.entries(HOST_MOUNTS) as [MountName, string][]) {
    const fsId = fileSystemIds[name];
    const server = `${fsId}.efs.${Aws.REGION}.${Aws.URL_SUFFIX}`;
    if (subdirectories) {
      // One file system holds all four trees, each in its own directory.
      lines.push(
        `mkdir -p /mnt/.efs-${name} && mount -t nfs4 -o ${NFS_OPTIONS} ${server}:/ /mnt/.efs-${name}`,
        `mkdir -p /mnt/.efs-${name}/${name} && umount /mnt/.efs-${name}`,
      );
    }
    const source = subdirectories ? `${server}:/${name}` : `${server}:/`;
    lines.push(
      `mkdir -p ${mountPoint}`,
      `grep -q ' ${mountPoint} ' /etc/fstab || echo '${source} ${mountPoint} nfs4 ${NFS_OPTIONS} 0 0' >> /etc/fstab`,
    );
  }
  lines.push('mount -a -t nfs4');
  return lines;
}
