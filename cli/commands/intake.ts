import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import type { LogPort } from '../../functions/adapters/runtime.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { LaneOutcome } from '../../shared/intake/coalesce.ts';
import {
  type Clock,
  type ExecutionStarter,
  type ExecutionStatus,
  type LaneStateStore,
  type LockStore,
  systemClock,
} from '../../shared/ports.ts';
import { parse, UsageError } from '../args.ts';
import type { LocalEngine } from '../engine/engine.ts';
import { DEMO_APPROVER } from '../engine/local-app.ts';
import { EXIT } from '../exit-codes.ts';
import { DryRunExecutionStarter, DryRunLaneStateStore } from '../local/executions.ts';
import { createLocalAdapters } from '../local/index.ts';
import type { Output } from '../output.ts';
import { ENGINE_OPTIONS, openLocal } from './session.ts';

/** SQS hands a Lambda at most 10 records at a time; the local run batches the same way. */
const SQS_BATCH_SIZE = 10;

export interface KojiIntakeOptions {
  /** A JSON Lines file, or `-` for standard input. */
  file: string;
  root: string;
  dryRun: boolean;
  config: ReleaseConfig;
  /** Starts compose executions; the recording store under the root when not given. */
  starter?: ExecutionStarter;
  /** Where lane locks are read; the engine's state table under the root when not given. */
  locks?: LockStore;
  /** Lane state; the engine's state table under the root when not given. */
  lanes?: LaneStateStore;
  clock?: Clock;
  logger?: LogPort;
}

export interface KojiIntakeReport {
  received: number;
  accepted: number;
  /** `index` is the 0-based line index, `line` the 1-based line number the text output names. */
  rejected: Array<{ index: number; line: number; reason: string }>;
  ignored: Array<{ index: number; line: number; reason: string }>;
  /** Compose executions started (or, with --dry-run, that would start); status once they ran. */
  executions: Array<{ name: string; lane: string; action: LaneOutcome['action']; status?: ExecutionStatus }>;
  lanes: LaneOutcome[];
  dryRun: boolean;
}

const silent: LogPort = { info: () => {}, warn: () => {}, error: () => {} };

function sqsRecord(index: number, body: string, sender: string, at: Date): SQSRecord {
  return {
    messageId: `line-${index}`,
    receiptHandle: `local-${index}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(at.getTime()),
      SenderId: sender,
      ApproximateFirstReceiveTimestamp: String(at.getTime()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:koji-events',
    awsRegion: 'local',
  };
}

/**
 * Feeds each line of a JSON Lines file, as one SQS message body, through the koji-events
 * handler with the local adapters, in SQS-sized batches. Blank lines are not messages; the
 * index of a message is its 0-based line number in the file.
 */
export async function runKojiIntake(options: KojiIntakeOptions): Promise<KojiIntakeReport> {
  const clock = options.clock ?? systemClock;
  const local = createLocalAdapters(options.root, clock);
  const realStarter = options.starter ?? local.recordedExecutions;
  const starter = options.dryRun ? new DryRunExecutionStarter(realStarter) : realStarter;
  const realLanes = options.lanes ?? local.lanes;
  const lanes = options.dryRun ? new DryRunLaneStateStore(realLanes) : realLanes;

  const report: KojiIntakeReport = {
    received: 0,
    accepted: 0,
    rejected: [],
    ignored: [],
    executions: [],
    lanes: [],
    dryRun: options.dryRun,
  };
  const indexOf = (recordId: string) => Number(recordId.slice('line-'.length));
  const handler = createKojiEventsHandler(
    { config: options.config, lanes, locks: options.locks ?? local.locks, starter, clock },
    options.logger ?? silent,
    {
      rejected: (id, reason) => report.rejected.push({ index: indexOf(id), line: indexOf(id) + 1, reason }),
      ignored: (id, reason) => report.ignored.push({ index: indexOf(id), line: indexOf(id) + 1, reason }),
      decided: (outcome) => report.lanes.push(outcome),
    },
  );

  const text = options.file === '-' ? await readStdin() : await readFile(options.file, 'utf8');
  const lines = text.split('\n');
  const sender = userInfo().username;
  const records = lines.flatMap((line, index) =>
    line.trim() ? [sqsRecord(index, line, sender, clock.now())] : [],
  );
  for (let i = 0; i < records.length; i += SQS_BATCH_SIZE) {
    await handler({ Records: records.slice(i, i + SQS_BATCH_SIZE) });
  }

  report.received = records.length;
  report.rejected.sort((a, b) => a.index - b.index);
  const failed = new Set(report.rejected.map((r) => r.index));
  report.accepted = records.filter((r) => !failed.has(indexOf(r.messageId))).length;
  const seen = new Set<string>();
  for (const outcome of report.lanes) {
    const starts = outcome.action === 'started' || outcome.action === 'follow-up';
    if (!starts || !outcome.executionName || seen.has(outcome.executionName)) continue;
    seen.add(outcome.executionName);
    report.executions.push({ name: outcome.executionName, lane: outcome.laneId, action: outcome.action });
  }
  return report;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The engine as intake's starter, with the execution status intake uses to skip unchanged lanes. */
function engineStarter(engine: LocalEngine): ExecutionStarter {
  return {
    start: (machine, name, input) => engine.start(machine, name, input),
    status: async (_machine, name) => (await engine.store.get(name).catch(() => undefined))?.status,
  };
}

/**
 * `releng intake koji FILE|- [--root DIR] [--json] [--dry-run] [--yes] [--engine local|record]`.
 * On the local engine the compose executions it starts run (and what they start in turn) before
 * the command returns; `--yes` approves their promotions as the demo approver. `--engine record`
 * runs no state machine: it records the starts under ROOT/state/executions.json.
 */
export async function intakeCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...ENGINE_OPTIONS,
    'dry-run': { type: 'boolean', default: false },
    yes: { type: 'boolean', default: false },
  });
  const [source, file] = positionals;
  if (source !== 'koji') throw new UsageError(`intake ${source ?? ''}: expected "koji FILE"`);
  if (!file) throw new UsageError('intake koji needs a FILE of JSON Lines, one SQS message body per line');
  if (values.engine !== 'local' && values.engine !== 'record') {
    throw new UsageError(
      `--engine ${JSON.stringify(values.engine)}: intake runs locally (local or record); on AWS, koji's messages arrive on the koji queue`,
    );
  }
  const root = resolve(values.root);
  const session =
    values.engine === 'local'
      ? await openLocal({ ...values, root }, out, values.yes ? { autoApproveAs: DEMO_APPROVER } : {})
      : undefined;
  const report = await runKojiIntake({
    file: file === '-' ? '-' : resolve(file),
    root,
    dryRun: values['dry-run'],
    config: session?.config ?? loadConfig(values.config),
    ...(session
      ? {
          starter: engineStarter(session.engine),
          locks: session.adapters.locks,
          lanes: session.adapters.lanes,
        }
      : {}),
  });
  let ok = true;
  if (session && !report.dryRun) {
    await session.engine.idle();
    const records = await session.engine.store.list();
    const outcome = new Map(records.map((r) => [r.name, r.status]));
    for (const execution of report.executions) execution.status = outcome.get(execution.name);
    ok = report.executions.every(
      (e) => e.status !== 'FAILED' && e.status !== 'TIMED_OUT' && e.status !== 'ABORTED',
    );
  }
  // A rejected message is a failure scripts must see, even when every execution succeeded.
  const code = ok && report.rejected.length === 0 ? EXIT.OK : EXIT.FAILED;
  if (values.json) {
    out.json(report);
    return code;
  }
  const verb = report.dryRun ? 'would start' : 'started';
  out.line(`received ${report.received}, accepted ${report.accepted}, rejected ${report.rejected.length}`);
  for (const r of report.rejected) out.line(`  line ${r.line}: rejected: ${r.reason}`);
  for (const r of report.ignored) out.line(`  line ${r.line}: ignored: ${r.reason}`);
  for (const lane of report.lanes)
    out.line(`  lane ${lane.laneId}: ${lane.action} ${lane.executionName ?? ''} (${lane.reason})`);
  out.line(`${verb} ${report.executions.length} compose execution(s)`);
  for (const e of report.executions) out.line(`  ${e.name}${e.status ? ` ${e.status}` : ''}`);
  return code;
}
