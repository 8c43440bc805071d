import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import type { DocumentClient } from '../../functions/adapters/dynamodb.ts';
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
import { type Clock, type Notifier, systemClock } from '../../shared/ports.ts';
import type { LocalAdapters } from '../local/index.ts';
import type { LocalFunctions } from './adapters/lambda.ts';
import type { EngineListener } from './adapters/types.ts';
import type { LocalEngine } from './engine.ts';

export interface LocalFunctionOptions {
  config: ReleaseConfig;
  /** Who may approve locally besides config.aws.approvers: the engineer, the demo's approver. */
  approvers: readonly string[];
  clock?: Clock;
  listener?: EngineListener;
  kojiObserver?: KojiEventsObserver;
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
 * What the host-command Lambdas run on locally: the local agent for SSM, the engine's task
 * tokens, and functions/' DynamoDB store over the engine's state table.
 */
function engineHostCommandDeps(engine: LocalEngine, doc: DocumentClient, clock: Clock): HostCommandDeps {
  return {
    commands: engine.hostCommands,
    store: new DynamoHostCommandStore(doc, 'local', clock),
    callbacks: engine.tokens,
    clock,
  };
}

/** host-command, host-command-events and execution-cleanup over the engine's local agent, task tokens and state table. */
export function localHostCommandFunctions(
  engine: LocalEngine,
  adapters: Pick<LocalAdapters, 'doc' | 'locks'>,
  options: { clock?: Clock; listener?: EngineListener } = {},
): LocalFunctions {
  const clock = options.clock ?? systemClock;
  const deps = engineHostCommandDeps(engine, adapters.doc, clock);
  return {
    'host-command': createHostCommandHandler(deps, engineLogger(options.listener, 'host-command')),
    'host-command-events': createHostCommandEventsHandler(
      deps,
      engineLogger(options.listener, 'host-command-events'),
    ),
    'execution-cleanup': createExecutionCleanupHandler(
      { ...deps, locks: adapters.locks },
      engineLogger(options.listener, 'execution-cleanup'),
    ),
  };
}

/**
 * The Lambda handlers of functions/ with the local adapters injected (functions/' own DynamoDB
 * stores over the engine's state table), the engine as their ExecutionStarter and its task
 * tokens as their TaskCallbacks: the same code paths AWS runs, with the AWS edge swapped for
 * files under the root.
 */
export function createLocalFunctions(
  engine: LocalEngine,
  adapters: LocalAdapters,
  options: LocalFunctionOptions,
): LocalFunctions {
  const clock = options.clock ?? systemClock;
  const notifier = echoNotifier(adapters.notifier, options.listener);
  const { config } = options;
  const kojiEvents = createKojiEventsHandler(
    { config, lanes: adapters.lanes, locks: adapters.locks, starter: engine, clock },
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
      batches: new DynamoPromotionBatchStore(adapters.doc, 'local', clock),
    },
    engineLogger(options.listener, 'promotion-events'),
  );
  const approvalRequest = createApprovalRequestHandler(
    { config, approvals: adapters.approvals, notifier, clock },
    engineLogger(options.listener, 'approval-request'),
  );
  const hostCommandFunctions = localHostCommandFunctions(engine, adapters, {
    clock,
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
  return functions;
}
