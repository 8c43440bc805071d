import type { ApprovalDecisionV1, WithdrawalV1 } from '../../shared/messages/promotion.ts';
import type { StateMachineName } from '../../shared/ports.ts';
import { UsageError } from '../args.ts';
import type { AwsEngine } from './aws-engine.ts';
import type { ExecutionRecord } from './execution-store.ts';
import type {
  ApprovalView,
  DecisionOutcome,
  LockView,
  PipelineEngine,
  StartOutcome,
} from './pipeline-engine.ts';

/**
 * The deployed pipeline: executions run in Step Functions (a command starts them and leaves them
 * there), decisions are messages on the promotion queue sent with the caller's credentials, so
 * the promotion handler authorizes that identity.
 */
export class AwsPipelineEngine implements PipelineEngine {
  readonly kind = 'aws';

  constructor(readonly aws: AwsEngine) {}

  async start(machine: StateMachineName, name: string, input: unknown): Promise<StartOutcome> {
    const { executionId, started } = await this.aws.start(machine, name, input);
    return { followed: false, executionId, started };
  }

  describe(execution: string): Promise<ExecutionRecord> {
    return this.aws.describe(execution);
  }

  async recent(limit: number): Promise<ExecutionRecord[]> {
    // ListExecutions carries no output: a succeeded promotion's output says whether it published.
    return Promise.all(
      (await this.aws.list(limit)).map((r) =>
        r.stateMachine === 'promotion' && r.status === 'SUCCEEDED'
          ? this.aws.describe(`promotion:${r.name}`)
          : r,
      ),
    );
  }

  history(execution: string) {
    return this.aws.history(execution);
  }

  async logs(): Promise<Array<{ step: string; text: string }>> {
    throw new UsageError('logs on AWS are in CloudWatch: the host-command log group the failure cause names');
  }

  /** `releng locks --engine aws` reads the state table; status lists executions only. */
  async locks(): Promise<LockView[]> {
    return [];
  }

  async approvals(): Promise<ApprovalView[]> {
    return (await this.aws.pendingApprovals()).map(({ approvalId, request }) => ({ approvalId, ...request }));
  }

  digestOf(approvalId: string): Promise<string> {
    return this.aws.digestOf(approvalId);
  }

  async decide(decision: ApprovalDecisionV1 | WithdrawalV1): Promise<DecisionOutcome> {
    return { sent: true, messageId: await this.aws.sendDecision(decision) };
  }
}
