import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import type { LogPort } from '../../functions/adapters/runtime.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { LaneOutcome } from '../../shared/intake/coalesce.ts';
import { type Clock, type ExecutionStarter, systemClock } from '../../shared/ports.ts';
import { parse, UsageError } from '../args.ts';
import { DryRunExecutionStarter, DryRunLaneStateStore } from '../local/executions.ts';
import { createLocalAdapters } from '../local/index.ts';
import type { Output } from '../output.ts';

/** SQS hands a Lambda at most 10 records at a time; the local run batches the same way. */
const SQS_BATCH_SIZE = 10;

export interface KojiIntakeOptions {
  file: string;
  root: string;
  dryRun: boolean;
  config: ReleaseConfig;
  /** Starts compose executions; the recording store under the root when not given. */
  starter?: ExecutionStarter;
  clock?: Clock;
  logger?: LogPort;
}

export interface KojiIntakeReport {
  received: number;
  accepted: number;
  rejected: Array<{ index: number; reason: string }>;
  ignored: Array<{ index: number; reason: string }>;
  executions: Array<{ name: string; lane: string; action: LaneOutcome['action'] }>;
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
  const lanes = options.dryRun ? new DryRunLaneStateStore(local.lanes) : local.lanes;

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
    { config: options.config, lanes, locks: local.locks, starter, clock },
    options.logger ?? silent,
    {
      rejected: (id, reason) => report.rejected.push({ index: indexOf(id), reason }),
      ignored: (id, reason) => report.ignored.push({ index: indexOf(id), reason }),
      decided: (outcome) => report.lanes.push(outcome),
    },
  );

  const lines = (await readFile(options.file, 'utf8')).split('\n');
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

/** `releng intake koji FILE --root DIR [--json] [--dry-run] [--config FILE]`. */
export async function intakeCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    root: { type: 'string', default: '.releng' },
    json: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    config: { type: 'string' },
  });
  const [source, file] = positionals;
  if (source !== 'koji') throw new UsageError(`intake ${source ?? ''}: expected "koji FILE"`);
  if (!file) throw new UsageError('intake koji needs a FILE of JSON Lines, one SQS message body per line');
  const report = await runKojiIntake({
    file: resolve(file),
    root: resolve(values.root),
    dryRun: values['dry-run'],
    config: loadConfig(values.config),
  });
  if (values.json) {
    out.json(report);
    return 0;
  }
  const verb = report.dryRun ? 'would start' : 'started';
  out.line(`received ${report.received}, accepted ${report.accepted}, rejected ${report.rejected.length}`);
  for (const r of report.rejected) out.line(`  line ${r.index + 1}: rejected: ${r.reason}`);
  for (const r of report.ignored) out.line(`  line ${r.index + 1}: ignored: ${r.reason}`);
  for (const lane of report.lanes)
    out.line(`  lane ${lane.laneId}: ${lane.action} ${lane.executionName ?? ''} (${lane.reason})`);
  out.line(
    `${verb} ${report.executions.length} compose execution(s)${report.executions.map((e) => `\n  ${e.name}`).join('')}`,
  );
  return 0;
}
