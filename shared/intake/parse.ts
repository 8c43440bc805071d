import type { ReleaseConfig } from '../config/schema.ts';
import { type Lane, laneForTag, laneId } from '../lanes.ts';
import { parseKojiWire } from '../messages/koji-wire.ts';
import { describeIssues, parseJsonBody, RejectedMessageError } from './reason.ts';

/** A koji tag change that feeds a lane. */
export interface LaneChange {
  kind: 'routed';
  lane: Lane;
  laneId: string;
  change: 'tag' | 'untag';
  tag: string;
  nvr: string;
  user: string;
}

/** A valid message this pipeline does not compose from: acknowledged and logged, never failed. */
export interface IgnoredEvent {
  kind: 'ignored';
  reason: string;
}

export type RoutedEvent = LaneChange | IgnoredEvent;

/**
 * Validates one koji queue body (any shape shared/messages/koji-wire.ts accepts) and maps it to its lane. Throws RejectedMessageError (with the
 * reason) for anything malformed; returns `ignored` for tags no lane is fed from and for build
 * state changes, which carry no tag (the tag event that follows a finished build does).
 */
export function routeKojiMessage(config: ReleaseConfig, body: unknown): RoutedEvent {
  const parsed = parseKojiWire(parseJsonBody(body), config.koji.topicPrefixes);
  if (!parsed.success) throw new RejectedMessageError(describeIssues(parsed.error));
  const event = parsed.data;
  if (event.topic === 'buildsys.build.state.change') {
    return {
      kind: 'ignored',
      reason: `build ${event.body.info.nvr} state ${event.body.old ?? 'none'} -> ${event.body.new}: no tag, nothing to compose`,
    };
  }
  const tag = event.body.tag.name;
  const lane = laneForTag(config, tag);
  if (!lane) return { kind: 'ignored', reason: `tag ${tag} feeds no configured lane` };
  return {
    kind: 'routed',
    lane,
    laneId: laneId(lane),
    change: event.topic === 'buildsys.tag' ? 'tag' : 'untag',
    tag,
    nvr: event.body.build.nvr,
    user: event.body.user.name,
  };
}
