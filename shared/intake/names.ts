import { createHash } from 'node:crypto';
import { type Lane, laneId } from '../lanes.ts';

const shortHash = (text: string, length = 12) =>
  createHash('sha256').update(text).digest('hex').slice(0, length);

/** `8-Rocky`; long compose names are cut and made unique with a hash, so names stay under 80. */
function lanePart(lane: Lane): string {
  const part = `${lane.major}-${lane.compose}`;
  return part.length <= 40 ? part : `${part.slice(0, 27)}-${shortHash(laneId(lane))}`;
}

/** Start of the quiet window `at` falls in, as `20261127T105000Z`. */
function windowStamp(at: Date, quietWindowSeconds: number): string {
  const seconds = Math.floor(at.getTime() / 1000);
  const start = new Date((seconds - (seconds % quietWindowSeconds)) * 1000);
  return start
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Seconds from `at` to the end of its quiet window: how long that window's compose waits. */
export function secondsLeftInWindow(at: Date, quietWindowSeconds: number): number {
  const seconds = Math.floor(at.getTime() / 1000);
  return quietWindowSeconds - (seconds % quietWindowSeconds);
}

/**
 * The compose execution for a lane's events in one quiet window: every event of the window names
 * the same execution, so Step Functions itself refuses a second start (ExecutionAlreadyExists).
 */
export function windowExecutionName(lane: Lane, at: Date, quietWindowSeconds: number): string {
  return `compose-${lanePart(lane)}-${windowStamp(at, quietWindowSeconds)}`;
}

/** The single follow-up compose after `runningExecution`: all events during that run name it. */
export function followUpExecutionName(lane: Lane, runningExecution: string): string {
  return `compose-${lanePart(lane)}-after-${shortHash(runningExecution)}`;
}

const sortedUnique = (items: readonly string[]) => items.every((item, i) => i === 0 || items[i - 1]! < item);

/** Digest of a lane's tagged NVR set: equal sets, equal digests, whatever order events came in. */
export function nvrSetDigest(nvrs: readonly string[]): string {
  // Stores hand back sorted sets; sorting thousands of NVRs per batch again would dominate intake.
  const canonical = sortedUnique(nvrs) ? nvrs : [...new Set(nvrs)].sort();
  return createHash('sha256').update(canonical.join('\n')).digest('hex');
}

function sortedIndex(sorted: readonly string[], item: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < item) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Adds and removes NVRs in a sorted, duplicate-free array in place (binary search, no re-sort):
 * lane sets hold thousands of NVRs and change by a few per batch.
 */
export function applyNvrChanges(
  sorted: string[],
  add: readonly string[],
  remove: readonly string[],
): string[] {
  for (const nvr of add) {
    const at = sortedIndex(sorted, nvr);
    if (sorted[at] !== nvr) sorted.splice(at, 0, nvr);
  }
  for (const nvr of remove) {
    const at = sortedIndex(sorted, nvr);
    if (sorted[at] === nvr) sorted.splice(at, 1);
  }
  return sorted;
}

/** The promotion execution of one staged digest: the same digest can only start it once. */
export function promotionExecutionName(major: string, channel: string, digest: string): string {
  return `promote-${major}-${channel}-${digest.slice(0, 32)}`;
}
