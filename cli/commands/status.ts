import { parse, UsageError } from '../args.ts';
import type { ExecutionEvent, ExecutionRecord } from '../engine/execution-store.ts';
import type { Output } from '../output.ts';
import { decisionLines, outcomeOf } from './outcome.ts';
import { ENGINE_OPTIONS, openEngine } from './session.ts';

function duration(from: string, to?: string): string {
  const ms = Date.parse(to ?? new Date().toISOString()) - Date.parse(from);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function describe(r: ExecutionRecord): string {
  const where = r.status === 'RUNNING' ? `at ${r.currentStates.join(', ') || '-'}` : '';
  const why = r.error
    ? `${r.failedState ? `at ${r.failedState}: ` : ''}${r.error} ${r.cause ?? ''}`.trim()
    : '';
  // A promotion nothing approved ends in a Succeed state: show REJECTED, TIMED_OUT or NOT PUBLISHED.
  const { outcome } = outcomeOf(r);
  return `${outcome.padEnd(13)} ${r.stateMachine.padEnd(13)} ${r.name}  ${duration(r.startDate, r.stopDate)} ${where}${why}`;
}

/** An execution and, for a promotion that published nothing, who decided and why. */
function describeWithDecisions(r: ExecutionRecord): string[] {
  return [describe(r), ...decisionLines(r).map((line) => `    ${line}`)];
}

/** The record as --json shows it: with its outcome beside Step Functions' status. */
const withOutcome = (r: ExecutionRecord) => ({ ...r, ...outcomeOf(r) });

/** `releng status`: running and recent executions, where each is, and who holds which lock. */
export async function statusCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, { ...ENGINE_OPTIONS, limit: { type: 'string', default: '20' } });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit ${values.limit}: expected a positive number`);
  const engine = await openEngine(values, out, { readOnly: true, existingRoot: true });
  const executions = await engine.recent(limit);
  const locks = await engine.locks();
  if (values.json) {
    out.json({ executions: executions.map(withOutcome), locks });
    return 0;
  }
  if (executions.length === 0) out.line('no executions yet');
  for (const r of executions) for (const line of describeWithDecisions(r)) out.line(line);
  if (locks.length) out.line('locks:');
  for (const l of locks) out.line(`  ${l.name} held by ${l.holder} until ${l.expiresAt}`);
  return 0;
}

/** Each state's time: from StateEntered to its StateExited or StateFailed. */
export function stepDurations(
  events: ExecutionEvent[],
): Array<{ state: string; ms: number; failed: boolean }> {
  const open = new Map<string, number[]>();
  const out: Array<{ state: string; ms: number; failed: boolean }> = [];
  for (const e of events) {
    if (!e.state) continue;
    const at = Date.parse(e.timestamp);
    if (e.type.endsWith('StateEntered')) open.set(e.state, [...(open.get(e.state) ?? []), at]);
    if (e.type.endsWith('StateExited') || e.type === 'StateFailed') {
      const starts = open.get(e.state);
      const start = starts?.pop();
      if (start !== undefined) out.push({ state: e.state, ms: at - start, failed: e.type === 'StateFailed' });
    }
  }
  return out;
}

/** `releng history EXECUTION`: its events with times, and how long each step took. */
export async function historyCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...ENGINE_OPTIONS,
    all: { type: 'boolean', default: false },
  });
  const [execution] = positionals;
  if (!execution) throw new UsageError('history needs an execution name (see releng status)');
  const engine = await openEngine(values, out, { readOnly: true, existingRoot: true });
  const [record, events] = await Promise.all([engine.describe(execution), engine.history(execution)]);
  const steps = stepDurations(events);
  if (values.json) {
    out.json({ execution: withOutcome(record), events, steps });
    return 0;
  }
  for (const line of describeWithDecisions(record)) out.line(line);
  const start = Date.parse(record.startDate);
  // Pass, Choice and Wait states are plumbing (defaults, poll loops); --all shows them too.
  const shown = values.all
    ? events
    : events.filter((e) => !['Pass', 'Choice', 'Wait'].includes(e.stateType ?? ''));
  for (const e of shown) {
    const offset = `+${((Date.parse(e.timestamp) - start) / 1000).toFixed(2)}s`.padStart(9);
    const failure = e.error ? `  ${e.error}: ${e.cause ?? ''}` : '';
    out.line(`${offset}  ${e.type.padEnd(22)} ${e.state ?? ''}${failure}`);
  }
  const byState = new Map<string, { ms: number; runs: number; failed: boolean }>();
  for (const step of steps) {
    const entry = byState.get(step.state) ?? { ms: 0, runs: 0, failed: false };
    byState.set(step.state, {
      ms: entry.ms + step.ms,
      runs: entry.runs + 1,
      failed: entry.failed || step.failed,
    });
  }
  out.line('steps (total time, runs):');
  for (const [state, { ms, runs, failed }] of [...byState].filter(([, v]) => v.ms >= 50 || v.failed)) {
    out.line(
      `  ${(ms / 1000).toFixed(2).padStart(8)} s  ${String(runs).padStart(3)}x  ${state}${failed ? '  (failed)' : ''}`,
    );
  }
  return 0;
}

/** `releng logs EXECUTION [--step STATE]`: what each host operation printed. */
export async function logsCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, { ...ENGINE_OPTIONS, step: { type: 'string' } });
  const [execution] = positionals;
  if (!execution) throw new UsageError('logs needs an execution name (see releng status)');
  const engine = await openEngine(values, out, { readOnly: true, existingRoot: true });
  const logs = await engine.logs(execution, values.step);
  if (values.step && logs.length === 0) {
    throw new UsageError(`execution ${execution} has no log for step ${JSON.stringify(values.step)}`);
  }
  if (values.json) {
    out.json({ execution, logs });
    return 0;
  }
  for (const { step, text } of logs) {
    out.line(`== ${step}`);
    out.line(text.trimEnd());
  }
  return 0;
}
