import type { ReleaseConfig } from './config/schema.ts';

/** A lane is one compose of one major: `8/Rocky`, `8/Extras`. One writer per lane at a time. */
export interface Lane {
  major: string;
  compose: string;
}

export class LaneError extends Error {
  override readonly name = 'LaneError';
}

export function laneId(lane: Lane): string {
  return `${lane.major}/${lane.compose}`;
}

export function parseLane(config: ReleaseConfig, id: string): Lane {
  const match = /^([0-9]{1,3})\/([A-Za-z][A-Za-z0-9_-]{0,63})$/.exec(id);
  if (!match) throw new LaneError(`lane ${JSON.stringify(id)} is not <major>/<compose> (e.g. 8/Rocky)`);
  const lane = { major: match[1]!, compose: match[2]! };
  // Own keys only: `constructor` or `toString` is "in" every plain object.
  const settings = Object.hasOwn(config.majors, lane.major) ? config.majors[lane.major] : undefined;
  if (!settings) throw new LaneError(`lane ${id}: major ${lane.major} is not configured`);
  if (!Object.hasOwn(settings.composes, lane.compose)) {
    throw new LaneError(
      `lane ${id}: compose ${lane.compose} is not one of ${Object.keys(settings.composes).join(', ')}`,
    );
  }
  return lane;
}

/** The lane a koji tag feeds, or undefined for tags this pipeline does not compose from. */
export function laneForTag(config: ReleaseConfig, tag: string): Lane | undefined {
  for (const [major, settings] of Object.entries(config.majors)) {
    // A koji tag named `__proto__` or `constructor` must not find Object.prototype's members.
    if (Object.hasOwn(settings.kojiTags, tag)) return { major, compose: settings.kojiTags[tag]! };
  }
  return undefined;
}

/**
 * Lock names in the state table: one per lane, one per major's staging, one for production
 * publishing. The state machines build the same names with States.Format from these templates.
 */
export const LANE_LOCK_FORMAT = 'lane:{}/{}';
export const STAGING_LOCK_FORMAT = 'staging:{}';
export const PUBLISH_LOCK = 'publish';

/** Fills each `{}` of a States.Format template in order, as Step Functions does. */
function formatLockName(template: string, ...args: string[]): string {
  let next = 0;
  return template.replaceAll('{}', () => args[next++] ?? '');
}

export function laneLockName(lane: Lane): string {
  return formatLockName(LANE_LOCK_FORMAT, lane.major, lane.compose);
}

export function stagingLockName(major: string): string {
  return formatLockName(STAGING_LOCK_FORMAT, major);
}
