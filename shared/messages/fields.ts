import * as z from 'zod';
import { matching as field } from '../fields.ts';
import { PATTERNS } from '../patterns.ts';

/** One user name without its anchors, to build lists of them. */
const USER = PATTERNS.userName.slice(1, -1);

export { Identifier, Major, Revision } from '../fields.ts';

/** Field schemas shared by every message: tight patterns, a message naming what is wrong. */

export const PackageName = field('packageName', 'package name');
export const VersionOrRelease = field('versionOrRelease', 'version or release');
export const KojiTag = field('kojiTag', 'koji tag');
export const UserName = field('userName', 'user name');
/**
 * Who asked for a compose, staging or promotion: one user name, or several joined by `,` (every
 * koji user whose tag change is in the compose). A string, so the state machines pass it on as
 * they always did; shared/approvals/identity.ts splits and compares it.
 */
export const Requesters = z
  .string()
  .max(10_000, { message: 'is longer than 10000 characters' })
  .regex(new RegExp(`^${USER}(,${USER})*$`), {
    message: 'not a valid user name or comma-separated list of user names',
  });
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
