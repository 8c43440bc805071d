import { Aws, type CfnElement, CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { ComposeHosts } from '../constructs/compose-hosts.ts';
import { HostCommandBridge } from '../constructs/host-command-bridge.ts';
import { HostOperationDocuments } from '../constructs/host-documents.ts';
import { KojiPoller } from '../constructs/koji-poller.ts';
import { Monitoring, Notifications } from '../constructs/notifications.ts';
import { approvalTimeout, PipelineKit } from '../constructs/pipeline-kit.ts';
import { PipelineStateMachine } from '../constructs/pipeline-state-machine.ts';
import { QueueWorker } from '../constructs/queue-worker.ts';
import { RelengFunction } from '../constructs/releng-function.ts';
import { StateTable } from '../constructs/state-table.ts';
import { composeDefinition } from '../state-machines/compose.ts';
import { minorReleaseDefinition } from '../state-machines/minor-release.ts';
import { promotionDefinition } from '../state-machines/promotion.ts';
import { stagingDefinition } from '../state-machines/staging.ts';

export interface RelengStackProps extends StackProps {
  readonly config: ReleaseConfig;
  /** The releng.config.json overrides (what differs from the defaults), for hosts and Lambdas. */
  readonly configOverrides: unknown;
}

/** Construct ids of the pipelines: the local engine and the tests find them by these. */
export const PIPELINE_IDS = {
  compose: 'ComposePipeline',
  staging: 'StagingPipeline',
  promotion: 'PromotionPipeline',
  minorRelease: 'MinorReleasePipeline',
} as const;

/** The whole release pipeline: hosts, documents, locks, queues, Lambdas, state machines, alarms. */
export class RelengStack extends Stack {
  readonly notifications: Notifications;
  readonly state: StateTable;
  readonly documents: HostOperationDocuments;
  readonly hosts: ComposeHosts;
  readonly pipelines: Record<keyof typeof PIPELINE_IDS, PipelineStateMachine>;
  readonly kojiEvents: QueueWorker;
  readonly promotionEvents: QueueWorker;
  readonly approvalRequest: RelengFunction;
  readonly efsPreflight: RelengFunction;
  readonly hostCommands: HostCommandBridge;
  /** Present only when koji.hubUrl is configured. */
  readonly kojiPoller?: KojiPoller;

  constructor(scope: Construct, id: string, props: RelengStackProps) {
    super(scope, id, props);
    const { config } = props;
    const overrides = JSON.stringify(props.configOverrides ?? {});
    const commonEnv = { [LAMBDA_ENV.stage]: config.stage, [LAMBDA_ENV.configOverrides]: overrides };

    this.notifications = new Notifications(this, 'Notifications', { emails: config.aws.notificationEmails });
    this.state = new StateTable(this, 'State');
    this.documents = new HostOperationDocuments(this, 'HostDocuments');
    this.hosts = new ComposeHosts(this, 'ComposeHosts', { config, configOverrides: props.configOverrides });
    this.efsPreflight = this.efsPreflightFunction(commonEnv);
    this.approvalRequest = new RelengFunction(this, 'ApprovalRequest', {
      handlerName: 'approval-request',
      environment: commonEnv,
    });
    this.state.bindTo(this.approvalRequest);
    this.notifications.bindTo(this.approvalRequest);
    this.hostCommands = new HostCommandBridge(this, 'HostCommands', {
      state: this.state,
      instanceIds: this.hosts.instanceIds,
      commonEnv,
    });

    const kit = new PipelineKit({
      config,
      documents: this.documents,
      hosts: this.hosts,
      state: this.state,
      preflight: this.efsPreflight,
      hostCommand: this.hostCommands.sender,
      topic: this.notifications.topic,
    });
    const built = this.definePipelines(config, kit, commonEnv);
    this.pipelines = built.pipelines;
    this.promotionEvents = built.promotionEvents;
    this.hostCommands.serve(Object.values(this.pipelines).map((p) => p.stateMachine));
    this.kojiEvents = this.kojiEventsWorker(commonEnv);
    // A koji hub without a message bus is polled; its tag changes join the koji queue.
    if (config.koji.hubUrl) {
      this.kojiPoller = new KojiPoller(this, 'KojiPoller', {
        pollMinutes: config.koji.pollMinutes,
        queue: this.kojiEvents.queue,
        state: this.state,
        commonEnv,
        alarmTopic: this.notifications.topic,
      });
    }
    this.addCliOutputs();
    new Monitoring(this, 'Monitoring', {
      topic: this.notifications.topic,
      stateMachines: Object.fromEntries(Object.entries(this.pipelines).map(([k, p]) => [k, p.stateMachine])),
      queues: { koji: this.kojiEvents, promotion: this.promotionEvents },
    });
  }

  /** Checks, before a host command, that the EFS file systems the hosts mount are available. */
  private efsPreflightFunction(commonEnv: Record<string, string>): RelengFunction {
    const fn = new RelengFunction(this, 'EfsPreflight', {
      handlerName: 'efs-preflight',
      environment: commonEnv,
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['elasticfilesystem:DescribeFileSystems', 'elasticfilesystem:DescribeMountTargets'],
        resources: [...new Set(Object.values(this.hosts.fileSystemIds))].map(
          (fsId) =>
            `arn:${Aws.PARTITION}:elasticfilesystem:${Aws.REGION}:${Aws.ACCOUNT_ID}:file-system/${fsId}`,
        ),
      }),
    );
    return fn;
  }

  private pipeline(
    id: string,
    comment: string,
    timeout: Duration,
    definition: (scope: Construct) => sfn.IChainable,
  ): PipelineStateMachine {
    const topic = this.notifications.topic;
    const p = new PipelineStateMachine(this, id, { definition, comment, timeout, alarmTopic: topic });
    this.notifications.grantPublish(p.stateMachine);
    return p;
  }

  /**
   * The four state machines, and the promotion queue worker that sits between staging (which
   * announces) and promotion (which it starts and resumes).
   */
  private definePipelines(config: ReleaseConfig, kit: PipelineKit, commonEnv: Record<string, string>) {
    const approval = approvalTimeout(config);
    const promotion = this.pipeline(
      PIPELINE_IDS.promotion,
      'Approve staged releases, then publish them to production and write the file lists',
      approval.plus(Duration.hours(72)),
      (scope) => promotionDefinition(scope, kit, this.approvalRequest),
    );
    const promotionEvents = new QueueWorker(this, 'PromotionEvents', {
      handlerName: 'promotion-events',
      alarmTopic: this.notifications.topic,
      environment: {
        ...commonEnv,
        [LAMBDA_ENV.promotionStateMachineArn]: promotion.stateMachine.stateMachineArn,
      },
    });
    promotion.stateMachine.grantStartExecution(promotionEvents.function);
    promotion.stateMachine.grantTaskResponse(promotionEvents.function);
    this.state.bindTo(promotionEvents.function);
    this.notifications.bindTo(promotionEvents.function);

    const staging = this.pipeline(
      PIPELINE_IDS.staging,
      'Sync built composes into staging, prepare, sign and verify it, and announce it for promotion',
      Duration.hours(72),
      (scope) => stagingDefinition(scope, kit, promotionEvents.queue),
    );
    // staging-ready is believed only from the staging state machine's role (SenderId `<RoleId>:…`).
    const stagingRole = staging.stateMachine.role;
    if (!(stagingRole instanceof iam.Role))
      throw new Error('the staging state machine has no role of its own');
    promotionEvents.function.addEnvironment(LAMBDA_ENV.pipelineSenderIds, stagingRole.roleId);
    const compose = this.pipeline(
      PIPELINE_IDS.compose,
      'Compose the requested composes of a release under their lane locks, then start staging',
      Duration.hours(100),
      (scope) => composeDefinition(scope, kit, staging.stateMachine),
    );
    const minorRelease = this.pipeline(
      PIPELINE_IDS.minorRelease,
      'Produce composes of a minor release, stage its ISOs and torrents, then promote it',
      // Two approvals now: the promotion's and the bitflip's.
      approval.plus(approval).plus(Duration.hours(100 + 36 + 48)),
      (scope) => minorReleaseDefinition(scope, kit, promotion.stateMachine, this.approvalRequest),
    );
    return { pipelines: { compose, staging, promotion, minorRelease }, promotionEvents };
  }

  /** The koji queue's worker: it starts compose executions and asks whether a lane's last one runs. */
  private kojiEventsWorker(commonEnv: Record<string, string>): QueueWorker {
    const compose = this.pipelines.compose.stateMachine;
    const worker = new QueueWorker(this, 'KojiEvents', {
      handlerName: 'koji-events',
      alarmTopic: this.notifications.topic,
      environment: { ...commonEnv, [LAMBDA_ENV.composeStateMachineArn]: compose.stateMachineArn },
    });
    compose.grantStartExecution(worker.function);
    // Coalescing asks whether the lane's last compose still runs (DescribeExecution).
    // Pseudo parameters, not the stack's env, so the acknowledgement reads the same in every env.
    worker.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: [
          `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${compose.stateMachineName}:*`,
        ],
      }),
    );
    const composeId = this.getLogicalId(compose.node.defaultChild as CfnElement);
    Validations.of(worker.function).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${composeId}.Name>:*]`,
      reason:
        'DescribeExecution on executions of the compose state machine only; their names are not known in advance',
    });
    this.state.bindTo(worker.function);
    return worker;
  }

  /** What `releng` needs to drive the deployed pipeline (cli/engine/aws-engine.ts reads these). */
  private addCliOutputs(): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    const arn = (name: keyof typeof PIPELINE_IDS) => this.pipelines[name].stateMachine.stateMachineArn;
    output('ComposeStateMachineArn', arn('compose'), 'compose pipeline');
    output('StagingStateMachineArn', arn('staging'), 'staging pipeline');
    output('PromotionStateMachineArn', arn('promotion'), 'promotion pipeline');
    output('MinorReleaseStateMachineArn', arn('minorRelease'), 'minor-release pipeline');
    output(
      'PromotionQueueUrl',
      this.promotionEvents.queue.queueUrl,
      'approval decisions and staging-ready messages',
    );
    output('KojiQueueUrl', this.kojiEvents.queue.queueUrl, 'koji build notifications');
    output('StateTableName', this.state.table.tableName, 'locks, approvals and lane state');
    // `releng doctor --engine aws` runs the doctor document on the host the pipelines use.
    output('HostDoctorDocumentName', this.documents.document('doctor').ref, 'releng-host doctor');
    output('ComposeHostInstanceId', this.hosts.primaryInstanceId, 'the host the pipelines send commands to');
  }
}
