import { decideApproval } from '../../shared/approvals/decide.ts';
import { withdrawApproval } from '../../shared/approvals/withdraw.ts';
import type { ApprovalDecisionV1, WithdrawalV1 } from '../../shared/messages/promotion.ts';
import { type StateMachineName, systemClock } from '../../shared/ports.ts';
import { UsageError } from '../args.ts';
import type { ExecutionRecord } from './execution-store.ts';
import { type LocalSession, localUser } from './local-app.ts';
import { lockHeldDetail, reportLockWaits } from './lock-waits.ts';
import type {
  ApprovalView,
  DecisionOutcome,
  FollowOptions,
  LockView,
  PipelineEngine,
  StartOutcome,
} from './pipeline-engine.ts';

/**
 * The pipeline on this machine: the embedded engine runs the executions in this process, and
 * decisions go through the promotion handler's own logic as the engineer's user name.
 */
export class LocalPipelineEngine implements PipelineEngine {
  readonly kind = 'local';

  constructor(readonly session: LocalSession) {}

  async start(
    machine: StateMachineName,
    name: string,
    input: unknown,
    follow: FollowOptions,
  ): Promise<StartOutcome> {
    const { engine, adapters } = this.session;
    const stopWaits = reportLockWaits(engine, follow.print, {
      ...(follow.reportApprovals ? { approvals: adapters.approvals } : {}),
    });
    try {
      const { executionId, started } = await engine.start(machine, name, input);
      if (!started) throw new UsageError(`an execution named ${name} exists already; pick another --name`);
      await engine.idle();
      const records = (await engine.store.list()).filter(
        (r) => r.name === name || r.name.startsWith(`${name}-`),
      );
      return { followed: true, executionId, records, heldDetail: (failed) => lockHeldDetail(engine, failed) };
    } finally {
      stopWaits();
    }
  }

  describe(execution: string): Promise<ExecutionRecord> {
    return this.session.engine.store.get(execution);
  }

  async recent(limit: number): Promise<ExecutionRecord[]> {
    return (await this.session.engine.store.list()).slice(0, limit);
  }

  history(execution: string) {
    return this.session.engine.store.events(execution);
  }

  logs(execution: string, step?: string) {
    return this.session.engine.store.logs(execution, step);
  }

  /** The unexpired lock items (`LOCK#<name>`) of the engine's state table: intake's and the pipelines'. */
  async locks(): Promise<LockView[]> {
    return (await this.session.adapters.locks.list()).map((l) => ({
      name: l.name,
      holder: l.owner,
      expiresAt: l.expiresAt,
    }));
  }

  async approvals(): Promise<ApprovalView[]> {
    // A task token completes the execution's task: it is for the handler, never for output.
    return (await this.session.adapters.approvals.listPending()).map(
      ({ taskToken: _token, ...shown }) => shown,
    );
  }

  async digestOf(approvalId: string): Promise<string> {
    const pending = await this.session.adapters.approvals.get(approvalId);
    if (!pending)
      throw new UsageError(`no approval ${approvalId}; run releng approvals to list pending ones`);
    return pending.digest;
  }

  async decide(decision: ApprovalDecisionV1 | WithdrawalV1): Promise<DecisionOutcome> {
    const { config, adapters, engine } = this.session;
    const sender = localUser();
    const deps = { config, approvals: adapters.approvals, callbacks: engine.tokens, clock: systemClock };
    const outcome =
      decision.type === 'withdraw'
        ? await withdrawApproval(deps, decision.approvalId, sender, decision.reason)
        : await decideApproval({ ...deps, approvers: [sender] }, decision, sender);
    return outcome.accepted
      ? { sent: false, accepted: true, result: outcome.result }
      : { sent: false, accepted: false, reason: outcome.reason };
  }
}
