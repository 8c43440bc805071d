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

/** Digest of a lane's tagged NVR set: equal sets, equal digests, whatever order events came in. */
export function nvrSetDigest(nvrs: readonly string[]): string {
  return createHash('sha256')
    .update([...new Set(nvrs)].sort().join('\n'))
    .digest('hex');
}

/** The promotion execution of one staged digest: the same digest can only start it once. */
export function promotionExecutionName(major: string, channel: string, digest: string): string {
  return `promote-${major}-${channel}-${digest.slice(0, 32)}`;
}
