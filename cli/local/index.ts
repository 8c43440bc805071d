import { join } from 'node:path';
import { type ApprovalStore, type Clock, systemClock } from '../../shared/ports.ts';
import { RecordingExecutionStarter } from './executions.ts';
import { FileNotifier, LocalApprovalStore, LocalLaneStateStore, LocalLockStore } from './stores.ts';

export { DryRunExecutionStarter, DryRunLaneStateStore, RecordingExecutionStarter } from './executions.ts';
export { JsonStore } from './json-store.ts';
export { FileNotifier, LocalApprovalStore, LocalLaneStateStore, LocalLockStore } from './stores.ts';

/** Where the local adapters keep their files under a releng root. */
export function localStateDir(root: string): string {
  return join(root, 'state');
}

/**
 * The file-backed stand-ins for DynamoDB (locks, approvals, lane state), SNS (a notification
 * log) and, when no engine runs the state machines, Step Functions starts (a record of them).
 */
export function createLocalAdapters(root: string, clock: Clock = systemClock) {
  const dir = localStateDir(root);
  return {
    dir,
    locks: new LocalLockStore(join(dir, 'locks.json'), clock),
    // createLocalFunctions puts approvals on the engine's state table, where the state machines write too.
    approvals: new LocalApprovalStore(join(dir, 'approvals.json')) as ApprovalStore,
    lanes: new LocalLaneStateStore(join(dir, 'lanes.json')),
    notifier: new FileNotifier(join(dir, 'notifications.jsonl'), clock),
    recordedExecutions: new RecordingExecutionStarter(join(dir, 'executions.json'), () => clock.now()),
  };
}
export type LocalAdapters = ReturnType<typeof createLocalAdapters>;
export { type LockTable, TableLockStore } from './table-locks.ts';
