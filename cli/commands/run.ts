import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { loadConfig } from '../../shared/config/load.ts';
import { Channel, ComposeKind } from '../../shared/config/schema.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import { PromotionRequestV1 } from '../../shared/messages/promotion.ts';
import { StagingRequestV1 } from '../../shared/messages/staging-request.ts';
import { type HostOperationName, hostArgv, ParamError, paramsOf } from '../../shared/operations.ts';
import { parse, UsageError } from '../args.ts';
import { serveDemoErrataAgain } from '../demo/demo.ts';
import type { ExecutionRecord } from '../engine/execution-store.ts';
import { HOST_ENTRY } from '../engine/host-entry.ts';
import { DEMO_APPROVER, localUser, sessionConfigFile } from '../engine/local-app.ts';
import { releaseDeadHolders, reportLockWaits } from '../engine/lock-waits.ts';
import { EXIT } from '../exit-codes.ts';
import type { Output } from '../output.ts';
import { checkConfigured, checkRelease, requireWritableRoot } from './inputs.ts';
import { decisionLines, notPublished, outcomeOf } from './outcome.ts';
import { confirmRollback } from './rollback.ts';
import { type CommandSpec, RUN_COMMANDS } from './run-specs.ts';
import { ENGINE_OPTIONS, engineKind, openEngine, openLocal } from './session.ts';

export { RUN_COMMANDS } from './run-specs.ts';

const RUN_OPTIONS = {
  ...ENGINE_OPTIONS,
  major: { type: 'string' },
  channel: { type: 'string' },
  release: { type: 'string' },
  compose: { type: 'string', multiple: true },
  kind: { type: 'string' },
  sig: { type: 'string', multiple: true },
  reason: { type: 'string' },
  name: { type: 'string' },
  digest: { type: 'string' },
  updateinfo: { type: 'string' },
  tree: { type: 'string' },
  'allow-shrink': { type: 'string' },
  'ga-step': { type: 'string' },
  previous: { type: 'string' },
  step: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

type RunValues = ReturnType<typeof parse<typeof RUN_OPTIONS>>['values'];

const stamp = () => new Date().toISOString().replaceAll(/[-:T]/g, '').slice(0, 14);

function release(values: RunValues) {
  const channel = Channel.safeParse(values.channel ?? 'stable');
  if (!channel.success) throw new UsageError(`--channel ${values.channel}: expected stable, beta or lh`);
  return {
    major: values.major ?? values.release?.split('.')[0] ?? '8',
    channel: channel.data,
    revision: values.release,
  };
}

function check<T>(
  result:
    | { success: true; data: T }
    | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } },
): T {
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new UsageError(`${issue.path.map(String).join('.') || 'input'}: ${issue.message}`);
}

/** The state machine input of a command, validated by the same schemas the handlers use. */
export function machineInput(command: string, values: RunValues, requestId: string): unknown {
  const { major, channel, revision } = release(values);
  const requestedBy = localUser();
  const composes = values.compose ?? [];
  if (command === 'compose' || command === 'minor-release') {
    const kind = check(
      ComposeKind.safeParse(values.kind ?? (command === 'minor-release' ? 'produce' : 'updates')),
    );
    return check(
      ComposeRequestV1.safeParse({
        version: 1,
        major,
        channel,
        ...(revision ? { revision } : {}),
        composes: (composes.length ? composes : ['Rocky']).map((name) => ({ name, kind })),
        sigs: values.sig ?? [],
        requestedBy,
        reason: values.reason ?? `releng ${command} by ${requestedBy}`,
        requestId,
      }),
    );
  }
  if (command === 'sync-staging') {
    return check(
      StagingRequestV1.safeParse({
        version: 1,
        major,
        channel,
        revision: revision ?? '',
        composes,
        sigs: values.sig ?? [],
        requestedBy,
        requestId,
      }),
    );
  }
  throw new UsageError(`${command} has no state machine input builder`);
}

/** Host options for `--step`: only the ones the operation takes, checked by the catalogue. */
function stepValues(
  operation: HostOperationName,
  values: RunValues,
): Record<string, string | boolean | undefined> {
  const { major, channel, revision } = release(values);
  const all: Record<string, string | boolean | undefined> = {
    major,
    channel,
    revision,
    compose: values.compose?.[0],
    kind: values.kind,
    sig: values.sig?.[0],
    updateinfo: values.updateinfo ? resolve(values.updateinfo) : undefined,
    tree: values.tree,
    'approved-digest': values.digest,
    'allow-shrink': values['allow-shrink'],
    step: values['ga-step'],
    previous: values.previous,
    'dry-run': values['dry-run'],
  };
  const takes = new Set(paramsOf(operation).map((p) => p.name));
  return Object.fromEntries(
    Object.entries(all).filter(([key, value]) => value !== undefined && takes.has(key)),
  );
}

/** Runs one host operation on the local root, streaming its output. */
async function runStep(command: string, spec: CommandSpec, values: RunValues, out: Output): Promise<number> {
  if (engineKind(values) === 'aws') {
    throw new UsageError(
      `--step runs on the local root; on AWS run the ${spec.operation} SSM document on the compose host`,
    );
  }
  let argv: string[];
  try {
    argv = hostArgv(spec.operation, stepValues(spec.operation, values));
  } catch (err) {
    if (err instanceof ParamError) throw new UsageError(err.message);
    throw err;
  }
  const root = resolve(values.root ?? '.releng');
  argv.push('--root', root);
  const configFile = sessionConfigFile(root, values.config);
  if (configFile) argv.push('--config', configFile);
  if (values.json) argv.push('--json');
  if (!values.json) out.line(`releng ${command}: releng-host ${argv.join(' ')}`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [HOST_ENTRY, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => process.stdout.write(d));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('close', (code) => done(code ?? 1));
  });
}

function summary(record: ExecutionRecord): Record<string, unknown> {
  return {
    name: record.name,
    stateMachine: record.stateMachine,
    status: record.status,
    ...outcomeOf(record),
    ...(record.error ? { error: record.error, cause: record.cause, failedState: record.failedState } : {}),
  };
}

async function promotionInput(values: RunValues, out: Output): Promise<unknown> {
  const { major } = release(values);
  const session = await openLocal(values, out, { readOnly: true });
  const ready = await session.engine.sentMessages('staging-ready');
  const match = [...ready]
    .reverse()
    .find(
      (m) =>
        (m as { major?: string }).major === major &&
        (!values.digest || (m as { digest?: string }).digest === values.digest),
    );
  if (!match) {
    throw new UsageError(
      `no staging-ready message for major ${major}${values.digest ? ` with digest ${values.digest}` : ''}: run releng sync-staging first`,
    );
  }
  return check(PromotionRequestV1.safeParse({ version: 1, releases: [match] }));
}

/** Inputs every run command checks before it starts an execution or takes a lock. */
async function checkRunInputs(values: RunValues): Promise<void> {
  const { major } = release(values);
  checkRelease(values.release, values.major);
  if (engineKind(values) === 'aws') {
    checkConfigured(loadConfig(values.config), major, values.compose ?? []);
    return;
  }
  const root = await requireWritableRoot(values.root);
  checkConfigured(loadConfig(sessionConfigFile(root, values.config)), major, values.compose ?? []);
}

/**
 * `releng <command>`: checks its inputs, then starts the matching state machine (or one host
 * operation) and follows it. On a demo root whose stand-in Apollo nobody serves any more, the
 * command serves it while it runs, so a second cycle after `releng demo` finds its errata.
 */
export function runCommand(command: string) {
  const startAndFollow = startAndFollowCommand(command);
  return async (argv: string[], out: Output): Promise<number> => {
    const { values } = parse(argv, RUN_OPTIONS);
    await checkRunInputs(values);
    if (command === 'rollback' && engineKind(values) === 'local') {
      const { major, channel, revision } = release(values);
      const decision = await confirmRollback({ ...values, major, channel, revision }, out);
      if (decision !== 'run') return decision === 'nothing' ? EXIT.OK : EXIT.FAILED;
    }
    if (engineKind(values) === 'aws') return startAndFollow(argv, out);
    const closeErrata = await serveDemoErrataAgain(values.root ?? '.releng');
    try {
      return await startAndFollow(argv, out);
    } finally {
      await closeErrata();
    }
  };
}

function startAndFollowCommand(command: string) {
  return async (argv: string[], out: Output): Promise<number> => {
    const spec = RUN_COMMANDS[command]!;
    const { values } = parse(argv, RUN_OPTIONS);
    if (values.step || !spec.machine) return runStep(command, spec, values, out);
    const name = values.name ?? `${command}-${release(values).major}-${stamp()}`;
    const input =
      spec.machine === 'promotion' ? await promotionInput(values, out) : machineInput(command, values, name);
    const engine = await openEngine(values, out, {
      quiet: values.quiet,
      ...(values.yes ? { autoApproveAs: DEMO_APPROVER } : {}),
    });
    const outcome = await engine.start(spec.machine, name, input, {
      print: values.json ? out.error : out.line,
      reportApprovals: !values.yes,
    });
    if (!outcome.followed) {
      const { executionId, started } = outcome;
      if (values.json) out.json({ executionId, started });
      else out.line(started ? `started ${executionId}` : `${executionId} exists already`);
      return started ? 0 : 1;
    }
    const { records } = outcome;
    const ok = records.every((r) => r.status === 'SUCCEEDED');
    // A promotion nothing approved succeeds without publishing: exit 3, with who decided and why.
    const unpublished = ok && records.some(notPublished);
    if (values.json) out.json({ executions: records.map(summary), ok, published: ok && !unpublished });
    else if (unpublished) {
      for (const r of records.filter(notPublished)) {
        out.error(`releng ${command}: ${r.name} ${outcomeOf(r).outcome}: production untouched`);
        for (const line of decisionLines(r)) out.error(`  ${line}`);
      }
    } else if (!ok) {
      const failed = records.find((r) => r.status !== 'SUCCEEDED')!;
      const held = await outcome.heldDetail(failed);
      out.error(
        `releng ${command}: ${failed.name} ${failed.status} at ${failed.failedState ?? '?'}: ${failed.error} ${failed.cause ?? ''}${held}; see releng history ${failed.name}`,
      );
    }
    return unpublished ? EXIT.NOT_PUBLISHED : ok ? EXIT.OK : EXIT.FAILED;
  };
}

/** `releng rerun EXECUTION`: a new execution with the same input (the local engine's redrive). */
export async function rerunCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...ENGINE_OPTIONS,
    yes: { type: 'boolean', default: false },
  });
  const [execution] = positionals;
  if (!execution) throw new UsageError('rerun needs an execution name (see releng status)');
  if (engineKind(values) === 'aws') {
    throw new UsageError(
      'on AWS, redrive the execution: aws stepfunctions redrive-execution --execution-arn ARN',
    );
  }
  const session = await openLocal(values, out, values.yes ? { autoApproveAs: DEMO_APPROVER } : {});
  // A lock whose holder's engine process died stays until its expiry (hours): free it first.
  for (const freed of await releaseDeadHolders(session.engine, execution, localUser()))
    (values.json ? out.error : out.line)(`releng rerun: released ${freed}`);
  const stopWaits = reportLockWaits(session.engine, values.json ? out.error : out.line, {
    ...(values.yes ? {} : { approvals: session.adapters.approvals }),
  });
  const name = await session.engine.rerun(execution);
  await session.engine.idle();
  stopWaits();
  const record = await session.engine.store.get(name);
  if (values.json) out.json({ rerunOf: execution, execution: summary(record) });
  else out.line(`${name}: ${record.status}`);
  return record.status === 'SUCCEEDED' ? 0 : 1;
}
