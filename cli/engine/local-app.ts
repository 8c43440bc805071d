import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { COALESCE_WAIT_STATE } from '../../shared/approvals/batch.ts';
import { decideApproval } from '../../shared/approvals/decide.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { errorMessage } from '../../shared/errors.ts';
import { systemClock } from '../../shared/ports.ts';
import { createLocalAdapters, type LocalAdapters, localEngineDir } from '../local/index.ts';
import { shareWithGroupIfRootIs } from '../local/shared-root.ts';
import { engineTableOf } from './adapters/dynamodb.ts';
import type { EngineEvent, EngineListener } from './adapters/types.ts';
import type { EngineDefinitions } from './definitions.ts';
import { LocalEngine } from './engine.ts';
import { withFileMutex } from './file-mutex.ts';
import { stopOnInterrupt } from './interrupt.ts';
import { createLocalFunctions, echoNotifier, ensureLocalMounts } from './local-functions.ts';
import { installLocalHost } from './local-install.ts';
import { localDefinitions } from './synth.ts';

/** The identity `--yes` approves as: never the requester, so the two-person rule still holds. */
export const DEMO_APPROVER = 'demo-approver';

/** The engineer running `releng` locally: the SenderId of their decisions. */
export function localUser(): string {
  const name = userInfo().username.replaceAll(/[^A-Za-z0-9._@-]/g, '_');
  return /^[A-Za-z0-9_]/.test(name) ? name : `u${name}`;
}

/** Locally the promotion's coalescing window lasts as configured, but never over 3 s. */
export function localCoalesceMs(config: ReleaseConfig): number {
  return Math.min(config.promotion.coalesceSeconds, 3) * 1000;
}

export interface LocalSessionOptions {
  root: string;
  /** releng.config.json; default `<root>/releng.config.json` when it exists, else the usual lookup. */
  configFile?: string;
  listener?: EngineListener;
  /** Approve every approval request at once as this identity (`--yes`). */
  autoApproveAs?: string;
  /** Stop this session's executions on Ctrl-C / SIGTERM, cleaning up (the CLI sets it). */
  stopOnInterrupt?: boolean;
  /** Definitions to run instead of the synthesized CDK app (tests of the engine itself). */
  definitions?: EngineDefinitions;
  waitMs?: number;
}

export interface LocalSession {
  engine: LocalEngine;
  adapters: LocalAdapters;
  config: ReleaseConfig;
  configFile?: string;
}

export function sessionConfigFile(root: string, configFile?: string): string | undefined {
  if (configFile) return resolve(configFile);
  const underRoot = join(resolve(root), 'releng.config.json');
  return existsSync(underRoot) ? underRoot : undefined;
}

/**
 * Approves as `approver` the pending approvals of an execution that now waits (the promotion
 * names them `<execution>-<index>`), through the promotion handler's decision logic.
 */
async function autoApprove(session: LocalSession, approver: string, execution: string): Promise<void> {
  const pending = (await session.adapters.approvals.listPending()).filter(
    (p) => p.approvalId === execution || p.approvalId.startsWith(`${execution}-`),
  );
  for (const approval of pending) {
    const decision = await decideApproval(
      {
        config: session.config,
        approvals: session.adapters.approvals,
        callbacks: session.engine.tokens,
        clock: systemClock,
        approvers: [approver],
      },
      {
        version: 1,
        type: 'approve',
        approvalId: approval.approvalId,
        digest: approval.digest,
        reason: 'approved with --yes',
      },
      approver,
    );
    // A batch's approvals are requested together: another --yes run may have decided this one.
    const still = decision.accepted ? undefined : await session.adapters.approvals.get(approval.approvalId);
    if (!decision.accepted && still?.status === 'PENDING')
      throw new Error(`--yes could not approve ${approval.approvalId}: ${decision.reason}`);
  }
}

/**
 * Installs releng-host on the local root with the app's own install document, as the stack's
 * association does on a compose host (quick when nothing changed). The signing-key and doctor
 * steps need the signing-key secret; a root without one (no demo key) stops after the install.
 */
async function installHost(
  root: string,
  definitions: EngineDefinitions,
  configFile: string | undefined,
  config: ReleaseConfig,
): Promise<void> {
  const id = definitions.index.installDocument;
  if (!id) return;
  const configOverrides = configFile ? (JSON.parse(await readFile(configFile, 'utf8')) as unknown) : {};
  const secret = join(root, 'etc/releng/secrets', config.aws.signingKeySecret);
  await mkdir(join(root, 'engine'), { recursive: true });
  // State Manager runs one association at a time on a host; two sessions opening at once must too.
  await withFileMutex(join(root, 'engine', 'host-install'), () =>
    installLocalHost({
      root,
      document: definitions.index.documents[id],
      configOverrides,
      ...(existsSync(secret) ? {} : { lastStep: 'install' }),
    }),
  );
}

/**
 * The embedded engine for one command: the config, the synthesized CDK app, the handlers with
 * their local adapters, all under `root`.
 */
export async function openLocalSession(options: LocalSessionOptions): Promise<LocalSession> {
  const root = resolve(options.root);
  // A team's shared root (group-writable): every state file this session writes stays so.
  shareWithGroupIfRootIs(root);
  const configFile = sessionConfigFile(root, options.configFile);
  const config = loadConfig(configFile);
  await ensureLocalMounts(root, config);
  const definitions = options.definitions ?? (await localDefinitions(config));
  await installHost(root, definitions, configFile, config);
  // Executions start only once the session exists, so an approval event always finds it.
  let session: LocalSession | undefined;
  const listener = (event: EngineEvent) => {
    options.listener?.(event);
    if (event.kind === 'approval' && options.autoApproveAs && session) {
      void autoApprove(session, options.autoApproveAs, event.execution).catch((err) =>
        options.listener?.({ ...event, kind: 'progress', message: errorMessage(err) }),
      );
    }
  };
  // Every port on the engine's one state table, keyed as the app declares it.
  const adapters = createLocalAdapters(
    root,
    systemClock,
    engineTableOf(localEngineDir(root), definitions.index),
  );
  const engine = new LocalEngine({
    notifier: echoNotifier(adapters.notifier, listener),
    root,
    definitions,
    listener,
    ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    waitMsByState: { [COALESCE_WAIT_STATE]: localCoalesceMs(config) },
    functions: (e) =>
      createLocalFunctions(e, adapters, {
        config,
        approvers: [localUser(), ...(options.autoApproveAs ? [options.autoApproveAs] : [])],
        listener,
      }),
  });
  session = { engine, adapters, config, ...(configFile ? { configFile } : {}) };
  if (options.stopOnInterrupt) stopOnInterrupt(engine);
  return session;
}
