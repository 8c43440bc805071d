import { type AslDefinition, allStates } from './asl.ts';

/**
 * Every Wait state lasts `ms` locally: the loop it belongs to still waits and polls. `byName`
 * gives particular ones their own length (the promotion's coalescing window must stay open long
 * enough for the releases one staging run announces).
 */
export function waitOverrides(
  definition: AslDefinition,
  ms: number,
  byName: Record<string, number> = {},
): Record<string, number> {
  return Object.fromEntries(
    allStates(definition)
      .filter((s) => s.state.Type === 'Wait')
      .map((s) => [s.name, byName[s.name] ?? ms]),
  );
}

interface Retrier {
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
}

/** Seconds a retrier waits over all its attempts on AWS: interval × rate^k, capped per attempt. */
export function retryBudgetSeconds(r: Retrier): number {
  const attempts = r.MaxAttempts ?? 3;
  let total = 0;
  for (let k = 0; k < attempts; k++) {
    const delay = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k;
    total += r.MaxDelaySeconds ? Math.min(delay, r.MaxDelaySeconds) : delay;
  }
  return total;
}

/**
 * Retry intervals scaled down, per retrier: aws-local-stepfunctions takes one interval per
 * retrier (no backoff), so each attempt waits the average of the AWS schedule × `msPerSecond`.
 * A lock retry keeps its meaning — it waits the same share of its budget and gives up after
 * MaxAttempts — in seconds instead of hours.
 */
export function retryIntervals(definition: AslDefinition, msPerSecond: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { name, state } of allStates(definition)) {
    const retry = state.Retry as Retrier[] | undefined;
    if (!retry?.length) continue;
    out[name] = retry.map((r) => {
      const ms = Math.round((retryBudgetSeconds(r) / (r.MaxAttempts ?? 3)) * msPerSecond);
      return Math.min(MAX_LOCAL_RETRY_MS, Math.max(1, ms));
    });
  }
  return out;
}

/**
 * At most this long between two local attempts: a lane lock's hours of 15-minute retries would
 * otherwise leave an engineer waiting 18 s after its holder freed it. It still gives up after
 * MaxAttempts.
 */
export const MAX_LOCAL_RETRY_MS = 3_000;
