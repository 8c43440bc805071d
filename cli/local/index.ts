import { join } from 'node:path';
import {
  DynamoApprovalStore,
  DynamoLaneStateStore,
  DynamoLockStore,
} from '../../functions/adapters/dynamodb.ts';
import { type Clock, systemClock } from '../../shared/ports.ts';
import { LocalDocumentClient } from '../engine/local-document-client.ts';
import { engineStateTable, type LocalTable } from '../engine/local-table.ts';
import { RecordingExecutionStarter } from './executions.ts';
import { FileNotifier } from './notifier.ts';

export { DryRunExecutionStarter, DryRunLaneStateStore, RecordingExecutionStarter } from './executions.ts';
export { JsonStore } from './json-store.ts';
export { FileNotifier } from './notifier.ts';

/** Where the local adapters keep their files under a releng root. */
export function localStateDir(root: string): string {
  return join(root, 'state');
}

/** The engine's directory under a releng root (LocalEngine.engineDir). */
export function localEngineDir(root: string): string {
  return join(root, 'engine');
}

/**
 * The ports on this machine: locks, approvals and lane state are functions/' DynamoDB adapters
 * over the engine's one state table (the table the state machines lock in), SNS is a
 * notification log, and, when no engine runs the state machines, Step Functions starts are a
 * record of them.
 */
export function createLocalAdapters(
  root: string,
  clock: Clock = systemClock,
  table: LocalTable = engineStateTable(localEngineDir(root)),
) {
  const dir = localStateDir(root);
  const doc = new LocalDocumentClient(table);
  return {
    dir,
    /** The document client the adapters share, for the engine's other functions/ stores. */
    doc,
    locks: new DynamoLockStore(doc, 'local', clock),
    approvals: new DynamoApprovalStore(doc, 'local'),
    lanes: new DynamoLaneStateStore(doc, 'local'),
    notifier: new FileNotifier(join(dir, 'notifications.jsonl'), clock),
    recordedExecutions: new RecordingExecutionStarter(join(dir, 'executions.json'), () => clock.now()),
  };
}
export type LocalAdapters = ReturnType<typeof createLocalAdapters>;
