import { hostname } from 'node:os';
import {
  createDocumentClient,
  createDynamoClient,
  DynamoLockStore,
} from '../../functions/adapters/dynamodb.ts';
import { type Clock, type LockAdmin, type LockAuditEntry, systemClock } from '../../shared/ports.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { parse, UsageError } from '../args.ts';
import { localUser } from '../engine/local-app.ts';
import {
  ageText,
  type HolderLookup,
  holderText,
  type LockView,
  localHolderLookup,
  localLockAdmin,
  tableLockViews,
} from '../engine/lock-views.ts';
import { EXIT } from '../exit-codes.ts';
import { shareWithGroupIfRootIs } from '../local/shared-root.ts';
import type { Output } from '../output.ts';
import { hostFileLockViews } from './host-file-locks.ts';
import { ENGINE_OPTIONS, type EngineValues, engineKind, openAws, openLocal } from './session.ts';

export const LOCKS_OPTIONS = {
  ...ENGINE_OPTIONS,
  table: { type: 'string' },
  audit: { type: 'boolean', default: false },
} as const;

export const UNLOCK_OPTIONS = {
  ...LOCKS_OPTIONS,
  reason: { type: 'string' },
  force: { type: 'boolean', default: false },
} as const;

interface LockSession {
  admin: LockAdmin;
  lookup: HolderLookup;
  views(): Promise<LockView[]>;
}

/** The state table on AWS: --table, else the name the Lambdas get (STATE_TABLE_NAME). */
async function openAwsLocks(values: EngineValues & { table?: string }, clock: Clock): Promise<LockSession> {
  const table = values.table ?? process.env[LAMBDA_ENV.stateTable];
  if (!table)
    throw new UsageError(`--engine aws needs the state table: --table NAME or ${LAMBDA_ENV.stateTable}`);
  const aws = await openAws(values);
  const admin = new DynamoLockStore(createDocumentClient(createDynamoClient()), table, clock);
  // DescribeExecution by the owner's ARN: whether Step Functions still runs the holder.
  const lookup: HolderLookup = (owner) => aws.describe(owner).catch(() => undefined);
  return { admin, lookup, views: () => tableLockViews(admin, lookup, clock) };
}

async function openLocalLocks(values: EngineValues, out: Output, clock: Clock): Promise<LockSession> {
  shareWithGroupIfRootIs(values.root ?? '.releng');
  const session = await openLocal(values, out, { readOnly: true });
  const admin = localLockAdmin(session.engine.engineDir, clock);
  const lookup = localHolderLookup(session.engine.store);
  const host = hostname();
  return {
    admin,
    lookup,
    views: async () => [
      ...(await tableLockViews(admin, lookup, clock, host)),
      ...(await hostFileLockViews(session.config, session.engine.root, clock)),
    ],
  };
}

function openLocks(values: EngineValues & { table?: string }, out: Output, clock = systemClock) {
  return engineKind(values) === 'aws' ? openAwsLocks(values, clock) : openLocalLocks(values, out, clock);
}

function lockLine(v: LockView): string {
  const state = v.expired ? 'expired' : v.gone ? 'holder gone' : 'held';
  return [
    v.name.padEnd(16),
    state.padEnd(11),
    `by ${holderText(v)}`,
    `age ${ageText(v.ageSeconds)}`,
    `expires ${v.expiresAt}`,
    v.source === 'host-file' ? '(host file lock)' : '',
  ]
    .join('  ')
    .trimEnd();
}

function auditLine(a: LockAuditEntry): string {
  return `${a.at}  ${a.action} ${a.lock} held by ${a.owner} (${a.holderState}) by ${a.by}${a.forced ? ' with --force' : ''}: ${a.reason}`;
}

/** `releng locks [--audit]`: every lock, who holds it (execution, host, pid), its age and expiry. */
export async function locksCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, LOCKS_OPTIONS);
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const locks = await openLocks(values, out);
  if (values.audit) {
    const trail = await locks.admin.auditTrail();
    if (values.json) out.json({ audit: trail });
    else if (trail.length === 0) out.line('no lock was freed by hand');
    else for (const a of trail) out.line(auditLine(a));
    return EXIT.OK;
  }
  const views = await locks.views();
  if (values.json) out.json({ locks: views });
  else if (views.length === 0) out.line('no locks held');
  else for (const v of views) out.line(lockLine(v));
  return EXIT.OK;
}

/**
 * `releng unlock LOCK --reason WHY`: frees a lock whose holder is gone (its engine process died,
 * its execution ended, or it expired); a live holder only with --force. Deletes the item only
 * while that holder still owns it, and records who freed it and why in the state table.
 */
export async function unlockCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, UNLOCK_OPTIONS);
  const [name, extra] = positionals;
  if (!name) throw new UsageError('unlock needs a lock name (see releng locks), e.g. lane:8/Rocky');
  if (extra) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  if (!values.reason?.trim())
    throw new UsageError('unlock needs --reason "<why>" (it goes into the audit trail)');
  const locks = await openLocks(values, out);
  const views = await locks.views();
  const view = views.find((v) => v.name === name && v.source === 'state-table');
  if (!view) {
    const file = views.find((v) => v.name === name);
    if (file)
      throw new UsageError(
        `${name} is a host file lock held by ${holderText(file)}: its holder frees it, or it goes stale 2 minutes after its process stops`,
      );
    const known = views.filter((v) => v.source === 'state-table').map((v) => v.name);
    throw new UsageError(
      `no lock ${JSON.stringify(name)}${known.length ? `; held now: ${known.join(', ')}` : '; no lock is held'}`,
    );
  }
  if (!view.gone && !values.force) {
    out.error(
      `releng unlock: ${name} is held by ${holderText(view)}, which is still running: stop it first (Ctrl-C in its terminal), or pass --force`,
    );
    return EXIT.FAILED;
  }
  const entry: LockAuditEntry = {
    at: systemClock.now().toISOString(),
    action: 'unlock',
    lock: name,
    owner: view.owner,
    by: localUser(),
    reason: values.reason.trim(),
    forced: !view.gone,
    holderState: view.expired ? 'expired' : view.holderStatus,
  };
  if (!(await locks.admin.releaseOwned(name, view.owner))) {
    out.error(
      `releng unlock: ${name} changed hands while unlocking (no longer held by ${view.execution}); see releng locks`,
    );
    return EXIT.FAILED;
  }
  await locks.admin.recordAudit(entry);
  if (values.json) out.json({ unlocked: name, audit: entry });
  else
    out.line(`unlocked ${name} (was held by ${holderText(view)}); recorded: by ${entry.by}: ${entry.reason}`);
  return EXIT.OK;
}
