import type {
  ApprovalDecisionV1,
  ApprovalResultV1,
  StagingReadyV1,
  WithdrawalV1,
} from '../../shared/messages/promotion.ts';
import type { StateMachineName } from '../../shared/ports.ts';
import type { ExecutionEvent, ExecutionRecord } from './execution-store.ts';

/**
 * A pending approval as `releng approvals` shows it: its id and what it would publish (and,
 * locally, the stored record's other fields). Never its task token, which is for the handler.
 */
export type ApprovalView = Pick<StagingReadyV1, 'digest' | 'revision' | 'requestedBy' | 'summary'> & {
  approvalId: string;
};

/** A lock and who holds it until when. */
export interface LockView {
  name: string;
  holder: string;
  expiresAt: string;
}

/**
 * What a decision did: locally the promotion handler's logic decided it at once; on AWS it is a
 * message on the promotion queue that the handler decides when it reads it.
 */
export type DecisionOutcome =
  | { sent: true; messageId: string }
  | { sent: false; accepted: true; result: ApprovalResultV1 }
  | { sent: false; accepted: false; reason: string };

/** How `releng <command>` follows what it started. */
export interface FollowOptions {
  /** Where lock and approval waits are reported while the executions run. */
  print: (line: string) => void;
  /** Also say which approval an execution waits for (not with --yes, which approves at once). */
  reportApprovals: boolean;
}

/**
 * What an execution the command started came to. Locally the engine runs it (and what it starts)
 * here, so the command waits and gets the records; on AWS it runs there: `followed` is false.
 */
export type StartOutcome =
  | { followed: false; executionId: string; started: boolean }
  | {
      followed: true;
      executionId: string;
      /** The execution and those it started (`<name>-…`). */
      records: ExecutionRecord[];
      /** `; lock X held by Y, taken T ago` when a failure was a lock held by another. */
      heldDetail: (failed: ExecutionRecord) => Promise<string>;
    };

/**
 * The one pipeline the CLI commands talk to: the embedded engine on this machine or the deployed
 * stack's Step Functions and promotion queue. cli/commands/session.ts picks one from --engine.
 */
export interface PipelineEngine {
  readonly kind: 'local' | 'aws';
  /** Starts an execution and, where it runs here, follows it to the end. */
  start(
    machine: StateMachineName,
    name: string,
    input: unknown,
    follow: FollowOptions,
  ): Promise<StartOutcome>;
  /** An execution by name (AWS also takes its ARN or `machine:name`). */
  describe(execution: string): Promise<ExecutionRecord>;
  /** Recent executions, newest first, with the output that says whether a promotion published. */
  recent(limit: number): Promise<ExecutionRecord[]>;
  history(execution: string): Promise<ExecutionEvent[]>;
  /** What each host operation of an execution printed, or of one step. */
  logs(execution: string, step?: string): Promise<Array<{ step: string; text: string }>>;
  /** Unexpired locks, where the engine can list them. */
  locks(): Promise<LockView[]>;
  approvals(): Promise<ApprovalView[]>;
  /** The staged content's digest a pending approval is for. */
  digestOf(approvalId: string): Promise<string>;
  /** An approve/reject decision, or the requester's withdrawal, as the caller. */
  decide(decision: ApprovalDecisionV1 | WithdrawalV1): Promise<DecisionOutcome>;
}
