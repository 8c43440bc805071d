import { errorMessage, errorName } from '../errors.ts';
import { coalesceLane, type IntakeDeps, type LaneOutcome } from './coalesce.ts';
import { type LaneChange, type RoutedEvent, routeKojiMessage } from './parse.ts';
import { cleanReason, RejectedMessageError } from './reason.ts';

export interface RecordFailure {
  recordId: string;
  reason: string;
}

/**
 * One batch of koji queue records: `add` validates and routes each record as it comes (throwing
 * for a bad one, which fails only that record); `flush` then makes one coalescing decision per
 * lane, so a burst in one batch costs one lane update and at most one StartExecution.
 */
export class KojiBatch {
  private readonly byLane = new Map<string, { changes: LaneChange[]; recordIds: string[] }>();

  constructor(private readonly deps: IntakeDeps) {}

  add(recordId: string, body: unknown): RoutedEvent {
    const routed = routeKojiMessage(this.deps.config, body);
    if (routed.kind === 'routed') {
      const entry = this.byLane.get(routed.laneId) ?? { changes: [], recordIds: [] };
      entry.changes.push(routed);
      entry.recordIds.push(recordId);
      this.byLane.set(routed.laneId, entry);
    }
    return routed;
  }

  /** Decides each lane; a lane whose decision fails (an AWS error) fails all of its records. */
  async flush(): Promise<{ outcomes: LaneOutcome[]; failures: RecordFailure[] }> {
    const outcomes: LaneOutcome[] = [];
    const failures: RecordFailure[] = [];
    for (const [laneKey, { changes, recordIds }] of this.byLane) {
      try {
        outcomes.push(await coalesceLane(this.deps, changes[0]!.lane, laneKey, changes));
      } catch (err) {
        const reason = cleanReason(`lane ${laneKey}: ${errorName(err)}: ${errorMessage(err)}`);
        for (const recordId of recordIds) failures.push({ recordId, reason });
      }
    }
    this.byLane.clear();
    return { outcomes, failures };
  }
}

export { RejectedMessageError };
