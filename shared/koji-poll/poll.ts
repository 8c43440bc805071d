import type { KojiCheckpointStore, KojiEventQueue, KojiHub } from '../ports.ts';
import { tagChanges } from './history.ts';

export interface KojiPollDeps {
  hub: KojiHub;
  checkpoints: KojiCheckpointStore;
  queue: KojiEventQueue;
}

export interface KojiPollOptions {
  /** Names the hub's checkpoint: its URL, so another hub never continues from this one's. */
  hubId: string;
  /** Koji events per queryHistory call. */
  pageEvents?: number;
  /** Pages per run: a long backlog is worked off over several runs, each within its timeout. */
  maxPages?: number;
}

export interface KojiPollResult {
  /** The checkpoint before and after this run. */
  from: number;
  to: number;
  /** The hub's newest event when the run began. */
  lastEvent: number;
  pages: number;
  sent: number;
  /** Changes already sent by an earlier run that stopped before moving the checkpoint. */
  skipped: number;
  /** True on the first run: the checkpoint starts at the hub's newest event, history is not replayed. */
  started: boolean;
}

export const DEFAULT_PAGE_EVENTS = 1000;
export const DEFAULT_MAX_PAGES = 50;

/**
 * Reads the hub's tag history since the checkpoint, page by page: each page's tag and untag
 * changes are enqueued (idempotently, by key) and only then does the checkpoint move past the
 * page, so a crash anywhere repeats at most the enqueue of one page, which skips what it sent.
 */
export async function pollKojiHub(deps: KojiPollDeps, options: KojiPollOptions): Promise<KojiPollResult> {
  const pageEvents = options.pageEvents ?? DEFAULT_PAGE_EVENTS;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const { id: lastEvent } = await deps.hub.lastEvent();
  const stored = await deps.checkpoints.get(options.hubId);
  if (stored === undefined) {
    await deps.checkpoints.advance(options.hubId, undefined, lastEvent);
    return { from: lastEvent, to: lastEvent, lastEvent, pages: 0, sent: 0, skipped: 0, started: true };
  }
  if (stored > lastEvent) {
    // Event ids only grow: a hub behind its checkpoint is another hub or a restored database.
    throw new Error(
      `koji hub ${options.hubId} reports last event ${lastEvent}, behind the checkpoint ${stored}: refusing to poll`,
    );
  }
  const result: KojiPollResult = {
    from: stored,
    to: stored,
    lastEvent,
    pages: 0,
    sent: 0,
    skipped: 0,
    started: false,
  };
  while (result.to < lastEvent && result.pages < maxPages) {
    const after = result.to;
    const upTo = Math.min(lastEvent, after + pageEvents);
    const rows = await deps.hub.tagListingHistory(after, upTo + 1);
    const { sent, skipped } = await deps.queue.enqueue(tagChanges(rows, after, upTo));
    await deps.checkpoints.advance(options.hubId, after, upTo);
    result.to = upTo;
    result.pages += 1;
    result.sent += sent;
    result.skipped += skipped;
  }
  return result;
}
