import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BATCH_READ_STATE } from '../../shared/approvals/batch.ts';
import { errorName } from '../../shared/errors.ts';
import {
  ApprovalDecisionV1,
  PromotionBatchRequestV1,
  PromotionRequestV1,
  StagingReadyV1,
  WithdrawalV1,
} from '../../shared/messages/promotion.ts';
import type { ExecutionStarter, StateMachineName } from '../../shared/ports.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import type { ExecutionEvent, ExecutionRecord, ExecutionStatus } from './execution-store.ts';

/** Where the deployed pipeline is: its state machine ARNs and the promotion queue. */
export interface AwsTargets {
  stateMachines: Partial<Record<StateMachineName, string>>;
  promotionQueueUrl?: string;
}

/**
 * Stack outputs the CDK app declares (a contract with cdk/); CloudFormation may suffix the
 * keys, so they match by prefix.
 */
export const STACK_OUTPUTS = {
  compose: 'ComposeStateMachineArn',
  staging: 'StagingStateMachineArn',
  promotion: 'PromotionStateMachineArn',
  'minor-release': 'MinorReleaseStateMachineArn',
  promotionQueueUrl: 'PromotionQueueUrl',
} as const;

const ENV_NAMES: Partial<Record<StateMachineName, string>> = {
  compose: LAMBDA_ENV.composeStateMachineArn,
  staging: LAMBDA_ENV.stagingStateMachineArn,
  promotion: LAMBDA_ENV.promotionStateMachineArn,
};

/** The targets from the stack's outputs, with environment variables (as the Lambdas get them) taking precedence. */
export async function resolveAwsTargets(
  cloudFormation: CloudFormationClient,
  stackName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsTargets> {
  const stack = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  const outputs = stack?.Outputs ?? [];
  const output = (prefix: string) => outputs.find((o) => o.OutputKey?.startsWith(prefix))?.OutputValue;
  const stateMachines: AwsTargets['stateMachines'] = {};
  for (const machine of Object.keys(ENV_NAMES).concat('minor-release') as StateMachineName[]) {
    const envName = ENV_NAMES[machine];
    const arn = (envName ? env[envName] : undefined) ?? output(STACK_OUTPUTS[machine]);
    if (arn) stateMachines[machine] = arn;
  }
  const promotionQueueUrl = env[LAMBDA_ENV.promotionQueueUrl] ?? output(STACK_OUTPUTS.promotionQueueUrl);
  return { stateMachines, ...(promotionQueueUrl ? { promotionQueueUrl } : {}) };
}

export class AwsTargetError extends Error {
  override readonly name = 'AwsTargetError';
}

/** `arn:…:stateMachine:NAME` + execution name → `arn:…:execution:NAME:EXEC`. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function flattenEvent(event: HistoryEvent): ExecutionEvent {
  const details =
    event.stateEnteredEventDetails ??
    event.stateExitedEventDetails ??
    (undefined as { name?: string } | undefined);
  const failure =
    event.executionFailedEventDetails ??
    event.taskFailedEventDetails ??
    event.lambdaFunctionFailedEventDetails;
  const out: ExecutionEvent = {
    timestamp: (event.timestamp ?? new Date(0)).toISOString(),
    type: event.type ?? 'Unknown',
  };
  if (details?.name) out.state = details.name;
  if (failure?.error) out.error = failure.error;
  if (failure?.cause) out.cause = failure.cause;
  return out;
}

/**
 * The same commands against the deployed stack: executions through Step Functions, decisions as
 * messages on the promotion queue (sent with the caller's own credentials, so SQS vouches for
 * who decided and the promotion handler authorizes that identity).
 */
export class AwsEngine implements ExecutionStarter {
  constructor(
    readonly targets: AwsTargets,
    private readonly sfn: SFNClient = new SFNClient({}),
    private readonly sqs: SQSClient = new SQSClient({}),
  ) {}

  stateMachineArn(machine: StateMachineName): string {
    const arn = this.targets.stateMachines[machine];
    if (!arn) {
      throw new AwsTargetError(
        `no ARN for the ${machine} state machine: deploy the stack (its output ${STACK_OUTPUTS[machine]}) or set --stack`,
      );
    }
    return arn;
  }

  async start(machine: StateMachineName, name: string, input: unknown) {
    const stateMachineArn = this.stateMachineArn(machine);
    try {
      const started = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return { executionId: started.executionArn ?? executionArnFor(stateMachineArn, name), started: true };
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists || errorName(err) === 'ExecutionAlreadyExists') {
        return { executionId: executionArnFor(stateMachineArn, name), started: false };
      }
      throw err;
    }
  }

  /** An execution by ARN, or by `machine:name`. */
  private arnOf(execution: string): string {
    if (execution.startsWith('arn:')) return execution;
    const [machine, name] = execution.split(':') as [StateMachineName, string | undefined];
    if (!name)
      throw new AwsTargetError(
        `execution ${JSON.stringify(execution)}: give its ARN or MACHINE:NAME (e.g. promotion:${execution})`,
      );
    return executionArnFor(this.stateMachineArn(machine), name);
  }

  async describe(execution: string): Promise<ExecutionRecord> {
    const arn = this.arnOf(execution);
    const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const machine = (Object.entries(this.targets.stateMachines).find(
      ([, sm]) => sm === d.stateMachineArn,
    )?.[0] ?? 'compose') as StateMachineName;
    return {
      name: d.name ?? arn,
      stateMachine: machine,
      status: (d.status ?? 'RUNNING') as ExecutionStatus,
      input: d.input ? JSON.parse(d.input) : undefined,
      ...(d.output ? { output: JSON.parse(d.output) } : {}),
      ...(d.error ? { error: d.error } : {}),
      ...(d.cause ? { cause: d.cause } : {}),
      startDate: (d.startDate ?? new Date(0)).toISOString(),
      ...(d.stopDate ? { stopDate: d.stopDate.toISOString() } : {}),
      currentStates: [],
      pid: 0,
    };
  }

  async history(execution: string): Promise<ExecutionEvent[]> {
    const executionArn = this.arnOf(execution);
    const events: ExecutionEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
      );
      events.push(...(page.events ?? []).map(flattenEvent));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  }

  /** Recent executions of every deployed machine, newest first, with the running ones' current step. */
  async list(limit = 10): Promise<ExecutionRecord[]> {
    const out: ExecutionRecord[] = [];
    for (const [machine, arn] of Object.entries(this.targets.stateMachines) as Array<
      [StateMachineName, string]
    >) {
      const page = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: arn, maxResults: limit }),
      );
      for (const e of page.executions ?? []) {
        const record: ExecutionRecord = {
          name: e.name ?? '',
          stateMachine: machine,
          status: (e.status ?? 'RUNNING') as ExecutionStatus,
          input: undefined,
          startDate: (e.startDate ?? new Date(0)).toISOString(),
          ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
          currentStates: [],
          pid: 0,
        };
        if (record.status === 'RUNNING' && e.executionArn) {
          const recent = await this.sfn.send(
            new GetExecutionHistoryCommand({
              executionArn: e.executionArn,
              reverseOrder: true,
              maxResults: 25,
            }),
          );
          const entered = recent.events?.find((ev) => ev.type?.endsWith('StateEntered'));
          if (entered?.stateEnteredEventDetails?.name)
            record.currentStates = [entered.stateEnteredEventDetails.name];
        }
        out.push(record);
      }
    }
    return out.sort((a, b) => b.startDate.localeCompare(a.startDate));
  }

  /**
   * A promotion's releases: from its input (PromotionRequestV1), or for a batched promotion
   * (PromotionBatchRequestV1) from its history, where it read the closed batch.
   */
  private async releasesOf(executionArn: string | undefined): Promise<StagingReadyV1[]> {
    const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const input = d.input ? JSON.parse(d.input) : undefined;
    const request = PromotionRequestV1.safeParse(input);
    if (request.success) return request.data.releases;
    return PromotionBatchRequestV1.safeParse(input).success ? this.batchReleasesOf(executionArn) : [];
  }

  /** What the batched promotion's `Read the batch releases` state put into `$.releases`. */
  private async batchReleasesOf(executionArn: string | undefined): Promise<StagingReadyV1[]> {
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          nextToken,
          maxResults: 1000,
          includeExecutionData: true,
        }),
      );
      const read = page.events?.find(
        (e) => e.type === 'MapStateExited' && e.stateExitedEventDetails?.name === BATCH_READ_STATE,
      );
      if (read?.stateExitedEventDetails?.output) {
        const { releases } = JSON.parse(read.stateExitedEventDetails.output) as { releases?: unknown[] };
        return (releases ?? []).map((r) => StagingReadyV1.parse(r));
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return []; // still waiting out its window: nothing to approve yet
  }

  /**
   * Pending approvals: one per release of each running promotion, with what it would publish.
   * The promotion state machine names them `<execution name>-<release index>`.
   */
  async pendingApprovals(): Promise<Array<{ approvalId: string; request: StagingReadyV1 }>> {
    const stateMachineArn = this.stateMachineArn('promotion');
    const out: Array<{ approvalId: string; request: StagingReadyV1 }> = [];
    // ListExecutions answers at most 100 executions a page unless asked: follow nextToken.
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', nextToken }),
      );
      for (const e of page.executions ?? []) {
        const releases = await this.releasesOf(e.executionArn);
        out.push(...releases.map((request, i) => ({ approvalId: `${e.name}-${i}`, request })));
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  /** The digest an approval is for: that release of its promotion execution's input. */
  async digestOf(approvalId: string): Promise<string> {
    const match = /^(.+)-([0-9]+)$/.exec(approvalId);
    if (!match) throw new AwsTargetError(`approval ${approvalId} is not <promotion execution>-<index>`);
    const executionArn = executionArnFor(this.stateMachineArn('promotion'), match[1]!);
    const release = (await this.releasesOf(executionArn))[Number(match[2])];
    if (!release)
      throw new AwsTargetError(`promotion ${match[1]} has no release ${match[2]} awaiting approval`);
    return release.digest;
  }

  /**
   * Sends an approve/reject decision, or a requester's withdrawal, to the promotion queue (the
   * handler takes who sent it from SQS's SenderId); returns the SQS message id.
   */
  async sendDecision(decision: ApprovalDecisionV1 | WithdrawalV1): Promise<string> {
    const body =
      decision.type === 'withdraw' ? WithdrawalV1.parse(decision) : ApprovalDecisionV1.parse(decision);
    if (!this.targets.promotionQueueUrl) {
      throw new AwsTargetError(
        `no promotion queue URL: deploy the stack (output ${STACK_OUTPUTS.promotionQueueUrl})`,
      );
    }
    const sent = await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.targets.promotionQueueUrl, MessageBody: JSON.stringify(body) }),
    );
    return sent.MessageId ?? '';
  }
}
