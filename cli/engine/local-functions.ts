import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DynamoApprovalStore } from '../../functions/adapters/dynamodb.ts';
import { DynamoHostCommandStore } from '../../functions/adapters/host-command-store.ts';
import { DynamoPromotionBatchStore } from '../../functions/adapters/promotion-batches.ts';
import type { LogPort } from '../../functions/adapters/runtime.ts';
import { createApprovalRequestHandler } from '../../functions/approval-request/process.ts';
import { createExecutionCleanupHandler } from '../../functions/execution-cleanup/process.ts';
import { createHostCommandHandler } from '../../functions/host-command/process.ts';
import { createHostCommandEventsHandler } from '../../functions/host-command-events/process.ts';
import { createKojiEventsHandler, type KojiEventsObserver } from '../../functions/koji-events/process.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { HostCommandDeps } from '../../shared/host-commands/lifecycle.ts';
import { EfsPreflightOutputV1 } from '../../shared/messages/tasks.ts';
import {
  type ApprovalStore,
  type Clock,
  type LockStore,
  type Notifier,
  systemClock,
} from '../../shared/ports.ts';
import { STATE_TABLE } from '../../shared/state-table.ts';
import { createLocalAdapters, type LocalAdapters, TableLockStore } from '../local/index.ts';
import { tableFor } from './adapters/dynamodb.ts';
import type { LocalFunctions } from './adapters/lambda.ts';
import type { EngineListener } from './adapters/types.ts';
import type { LocalEngine } from './engine.ts';
import { LocalDocumentClient } from './local-document-client.ts';
import { LocalTable } from './local-table.ts';

export interface LocalFunctionOptions {
  config: ReleaseConfig;
  /** Who may approve locally besides config.aws.approvers: the engineer, the demo's approver. */
  approvers: readonly string[];
  clock?: Clock;
  listener?: EngineListener;
  kojiObserver?: KojiEventsObserver;
  /** The local adapters to use (default: those under the engine's root). */
  adapters?: LocalAdapters;
}

/** Handler logs go to the engine's listener: a terminal shows them as progress. */
function engineLogger(listener: EngineListener | undefined, source: string): LogPort {
  const emit = (level: string) => (message: string, fields: Record<string, unknown>) =>
    listener?.({
      execution: '-',
      kind: 'progress',
      state: source,
      message: `${level} ${message} ${JSON.stringify(fields)}`,
    });
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Notifications to the local log, and to the terminal. */
export function echoNotifier(inner: Notifier, listener: EngineListener | undefined): Notifier {
  return {
    async publish(subject, message) {
      await inner.publish(subject, message);
      listener?.({ execution: '-', kind: 'notification', message: `${subject}\n${message}` });
    },
  };
}

/** The MOUNT roots under the local root, created when missing: what EFS is on AWS. */
export async function ensureLocalMounts(root: string, config: ReleaseConfig): Promise<string[]> {
  const mounts = Object.values(config.mounts).map((mount) => join(root, mount));
  await Promise.all(mounts.map((dir) => mkdir(dir, { recursive: true })));
  return mounts;
}

/**
 * The LockStore over the engine's state table, where the state machines take their locks, so
 * intake sees a running compose's lane lock; `fallback` when the app has no single state table.
 */
export function engineLockStore(
  engine: LocalEngine,
  fallback: LockStore,
  clock: Clock = systemClock,
): LockStore {
  const { index } = engine.options.definitions;
  const [stateTable, ...others] = Object.keys(index.tables);
  if (!stateTable || others.length > 0) return fallback;
  return new TableLockStore(tableFor(engine.engineDir, index, stateTable), clock);
}

/**
 * The ApprovalStore over the engine's state table: functions/' DynamoDB adapter itself, on the
 * table the promotion state machine records approval timeouts in, so `releng approvals` and the
 * handlers see what the state machine wrote; `fallback` when the app has no single state table.
 */
export function engineApprovalStore(engine: LocalEngine, fallback: ApprovalStore): ApprovalStore {
  const { index } = engine.options.definitions;
  const tables = Object.keys(index.tables);
  let table: LocalTable | undefined;
  if (tables.length === 1) table = tableFor(engine.engineDir, index, tables[0]);
  else if (tables.length === 0) {
    // A read-only session (`releng approvals`) synthesizes nothing: use the one table on disk.
    const dir = join(engine.engineDir, 'tables');
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
    if (files.length === 1)
      table = new LocalTable(join(dir, files[0]!), [STATE_TABLE.partitionKey, STATE_TABLE.sortKey]);
  }
  if (!table) return fallback;
  const client = new LocalDocumentClient(table);
  return new DynamoApprovalStore(client as unknown as DynamoDBDocumentClient, 'local');
}

/** Promotion batches in the engine's state table, as the promotion state machine closes them. */
function enginePromotionBatches(engine: LocalEngine, clock: Clock): { batches?: DynamoPromotionBatchStore } {
  const { index } = engine.options.definitions;
  const [stateTable, ...others] = Object.keys(index.tables);
  if (!stateTable || others.length > 0) return {};
  const client = new LocalDocumentClient(tableFor(engine.engineDir, index, stateTable));
  return { batches: new DynamoPromotionBatchStore(client, 'local', clock) };
}

/**
 * What the host-command Lambdas run on locally: the local agent for SSM, the engine's task
 * tokens, and functions/' DynamoDB store over the engine's state table (none without one).
 */
function engineHostCommandDeps(engine: LocalEngine, clock: Clock): HostCommandDeps | undefined {
  const { index } = engine.options.definitions;
  const [stateTable, ...others] = Object.keys(index.tables);
  if (!stateTable || others.length > 0) return undefined;
  const client = new LocalDocumentClient(tableFor(engine.engineDir, index, stateTable));
  return {
    commands: engine.hostCommands,
    store: new DynamoHostCommandStore(client, 'local', clock),
    callbacks: engine.tokens,
    clock,
  };
}

/**
 * host-command, host-command-events and execution-cleanup over the engine's local agent, task
 * tokens and state table (none when the app has no single state table).
 */
export function localHostCommandFunctions(
  engine: LocalEngine,
  options: { clock?: Clock; locks?: LockStore; listener?: EngineListener } = {},
): LocalFunctions {
  const clock = options.clock ?? systemClock;
  const deps = engineHostCommandDeps(engine, clock);
  if (!deps) return {};
  const { index } = engine.options.definitions;
  const [stateTable] = Object.keys(index.tables);
  const locks = options.locks ?? new TableLockStore(tableFor(engine.engineDir, index, stateTable!), clock);
  return {
    'host-command': createHostCommandHandler(deps, engineLogger(options.listener, 'host-command')),
    'host-command-events': createHostCommandEventsHandler(
      deps,
      engineLogger(options.listener, 'host-command-events'),
    ),
    'execution-cleanup': createExecutionCleanupHandler(
      { ...deps, locks },
      engineLogger(options.listener, 'execution-cleanup'),
    ),
  };
}

/**
 * The Lambda handlers of functions/ with the local adapters of cli/local injected, the engine as
 * their ExecutionStarter and its task tokens as their TaskCallbacks: the same code paths AWS
 * runs, with the AWS edge swapped for files under the root.
 */
export function createLocalFunctions(
  engine: LocalEngine,
  options: LocalFunctionOptions,
): { functions: LocalFunctions; adapters: LocalAdapters } {
  const clock = options.clock ?? systemClock;
  const given = options.adapters ?? createLocalAdapters(engine.root, clock);
  // Every user of these adapters (handlers, `releng approvals/approve`) reads approvals from the table.
  const adapters: LocalAdapters = { ...given, approvals: engineApprovalStore(engine, given.approvals) };
  const notifier = echoNotifier(adapters.notifier, options.listener);
  const { config } = options;
  const locks = engineLockStore(engine, adapters.locks, clock);
  const kojiEvents = createKojiEventsHandler(
    { config, lanes: adapters.lanes, locks, starter: engine, clock },
    engineLogger(options.listener, 'koji-events'),
    options.kojiObserver,
  );
  const promotionEvents = createPromotionEventsHandler(
    {
      config,
      approvals: adapters.approvals,
      callbacks: engine.tokens,
      clock,
      approvers: [...config.aws.approvers, ...options.approvers],
      starter: engine,
      lanes: adapters.lanes,
      ...enginePromotionBatches(engine, clock),
    },
    engineLogger(options.listener, 'promotion-events'),
  );
  const approvalRequest = createApprovalRequestHandler(
    { config, approvals: adapters.approvals, notifier, clock },
    engineLogger(options.listener, 'approval-request'),
  );
  const hostCommandFunctions = localHostCommandFunctions(engine, {
    clock,
    locks,
    listener: options.listener,
  });
  const functions: LocalFunctions = {
    ...hostCommandFunctions,
    'koji-events': (event) => kojiEvents(event as SQSEvent),
    'promotion-events': (event) => promotionEvents(event as SQSEvent),
    'approval-request': (event) => approvalRequest(event),
    // Locally the "file systems" are the mount directories under the root: present means ready.
    'efs-preflight': async () => {
      const mounts = await ensureLocalMounts(engine.root, config);
      return EfsPreflightOutputV1.parse({
        version: 1,
        fileSystems: mounts.map((dir) => ({
          id: dir,
          lifeCycleState: 'available',
          sizeBytes: 0,
          mountTargets: 1,
        })),
        nowEpochSeconds: Math.floor(clock.now().getTime() / 1000),
      });
    },
  };
  return { functions, adapters };
}
