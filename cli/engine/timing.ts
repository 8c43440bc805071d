import { type AslDefinition, allStates } from './asl.ts';

/** Every Wait state lasts `ms` locally: the loop it belongs to still waits and polls. */
export function waitOverrides(definition: AslDefinition, ms: number): Record<string, number> {
  return Object.fromEntries(
    allStates(definition)
      .filter((s) => s.state.Type === 'Wait')
      .map((s) => [s.name, ms]),
  );
}

interface Retrier {
  IntervalSeconds?: number;
}

/**
 * Retry intervals scaled down (IntervalSeconds × `msPerSecond` ms, per retrier): a lock retry
 * still backs off and still gives up after MaxAttempts, in milliseconds instead of minutes.
 */
export function retryIntervals(definition: AslDefinition, msPerSecond: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { name, state } of allStates(definition)) {
    const retry = state.Retry as Retrier[] | undefined;
    if (!retry?.length) continue;
    out[name] = retry.map((r) => Math.max(1, Math.round((r.IntervalSeconds ?? 1) * msPerSecond)));
  }
  return out;
}
