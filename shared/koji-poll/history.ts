import * as z from 'zod';
import { KojiTag, PackageName, UserName, VersionOrRelease } from '../messages/fields.ts';
import type { KojiEvent } from '../messages/koji.ts';

/**
 * What a koji hub answers about tag history (koji/hub/kojihub.py). Only the fields we use are
 * kept and checked; koji sends more (`creator_id`, `create_ts`, `epoch`, `build.state`, …).
 */

/** A koji event id: one per committed hub transaction, increasing. */
export const KojiEventId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `getLastEvent()`: `{id, ts}`. */
export const LastEvent = z.object({ id: KojiEventId, ts: z.number() });

/**
 * One row of `queryHistory(tables=['tag_listing'])`: a build's membership of a tag, created at
 * `create_event` by `creator_name` and, once untagged, revoked at `revoke_event` by `revoker_name`.
 */
export const TagListingRow = z
  .object({
    build_id: z.number().int().min(0),
    tag_id: z.number().int().min(0),
    create_event: KojiEventId,
    revoke_event: KojiEventId.nullable(),
    creator_name: UserName,
    revoker_name: UserName.nullable(),
    'tag.name': KojiTag,
    name: PackageName,
    version: VersionOrRelease,
    release: VersionOrRelease,
  })
  // koji records who revoked with the revoke: a row with one and not the other is not koji's.
  .refine((row) => (row.revoke_event === null) === (row.revoker_name === null), {
    message: 'revoke_event and revoker_name must both be set or both be null',
    path: ['revoker_name'],
  });
export type TagListingRow = z.infer<typeof TagListingRow>;

/** `queryHistory` answers one list per table asked for. */
export const TagListingHistory = z.object({ tag_listing: z.array(TagListingRow) });

/** One tag or untag to enqueue: its key is unique across the hub's whole history. */
export interface KojiTagChange {
  /** `<event>-<tag|untag>-<tag_id>-<build_id>`: one event can tag many builds into many tags. */
  key: string;
  eventId: number;
  event: KojiEvent;
}

function change(row: TagListingRow, kind: 'tag' | 'untag', eventId: number, user: string): KojiTagChange {
  const nvr = `${row.name}-${row.version}-${row.release}`;
  return {
    key: `${eventId}-${kind}-${row.tag_id}-${row.build_id}`,
    eventId,
    event: {
      topic: kind === 'tag' ? 'buildsys.tag' : 'buildsys.untag',
      body: {
        tag: { name: row['tag.name'] },
        build: { name: row.name, version: row.version, release: row.release, nvr },
        user: { name: user },
      },
    },
  };
}

/**
 * The tag and untag changes whose event lies in (after, upTo], oldest first. A row names up to
 * two events, and a query by event range returns rows whose other event lies outside it: those
 * belong to another page and are left to it, so every change is taken exactly once.
 */
export function tagChanges(rows: readonly TagListingRow[], after: number, upTo: number): KojiTagChange[] {
  const inPage = (id: number | null): id is number => id !== null && id > after && id <= upTo;
  const changes: KojiTagChange[] = [];
  for (const row of rows) {
    if (inPage(row.create_event)) changes.push(change(row, 'tag', row.create_event, row.creator_name));
    if (inPage(row.revoke_event)) changes.push(change(row, 'untag', row.revoke_event, row.revoker_name!));
  }
  return changes.sort((a, b) => a.eventId - b.eventId || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
