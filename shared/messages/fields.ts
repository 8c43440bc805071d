import * as z from 'zod';
import { matching as field } from '../fields.ts';

export { Identifier, Major, Revision } from '../fields.ts';

/** Field schemas shared by every message: tight patterns, a message naming what is wrong. */

export const PackageName = field('packageName', 'package name');
export const VersionOrRelease = field('versionOrRelease', 'version or release');
export const KojiTag = field('kojiTag', 'koji tag');
export const UserName = field('userName', 'user name');
export const Sha256 = field('sha256', 'sha256 digest');
export const ComposeId = field('composeId', 'compose ID');
/**
 * Execution and approval ids. Names every plain object already answers to (`__proto__`,
 * `constructor`, `toString`) are refused: stores keyed by id must never find those.
 */
export const ExecutionName = field('executionName', 'id').refine((id) => !(id in Object.prototype), {
  error: (issue) => `${JSON.stringify(issue.input)} is a reserved name, not an id`,
});
export const Timestamp = z.iso.datetime({ offset: true, message: 'not an ISO 8601 timestamp' });
export const Reason = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(1000, { message: 'is longer than 1000 characters' })
  // Free text travels to notifications and logs, never to a shell; control characters are refused.
  .regex(/^[^\p{Cc}]*$/u, { message: 'contains control characters' });
