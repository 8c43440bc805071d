import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decideApproval } from '../../shared/approvals/decide.ts';
import { withdrawApproval } from '../../shared/approvals/withdraw.ts';
import type { ApprovalDecisionV1, WithdrawalV1 } from '../../shared/messages/promotion.ts';
import { type StateMachineName, systemClock } from '../../shared/ports.ts';
import { STATE_TABLE } from '../../shared/state-table.ts';
import { UsageError } from '../args.ts';
import { lockHeldDetail, reportLockWaits } from '../commands/lock-wait.ts';
import type { ExecutionRecord } from './execution-store.ts';
import { type LocalSession, localUser } from './local-app.ts';
import { LocalTable } from './local-table.ts';
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

  /** Intake's locks, and the unexpired lock items (`LOCK#<name>`) of the local state tables. */
  async locks(): Promise<LockView[]> {
    const locks: LockView[] = (await this.session.adapters.locks.list()).map((l) => ({
      name: l.name,
      holder: l.owner,
      expiresAt: l.expiresAt,
    }));
    const dir = join(this.session.engine.engineDir, 'tables');
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      if (!file.endsWith('.json')) continue;
      for (const item of await new LocalTable(join(dir, file), [STATE_TABLE.partitionKey]).scan()) {
        const key = String(item[STATE_TABLE.partitionKey]?.S ?? '');
        const owner = item.owner?.S;
        if (!key.startsWith('LOCK#') || typeof owner !== 'string') continue;
        const expires = Number(item.expiresAtEpoch?.N ?? 0);
        if (expires * 1000 < Date.now()) continue;
        locks.push({
          name: key.slice('LOCK#'.length),
          holder: owner,
          expiresAt: new Date(expires * 1000).toISOString(),
        });
      }
    }
    return locks;
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
