/**
 * Who sent a decision, as SQS tells it (the SenderId attribute, which the sender cannot set):
 * an IAM user's unique id (`AIDA…`), or a role's unique id and session (`AROA…:jdoe`), or
 * locally the engineer's user name. Approvers are configured by those ids (`aws iam get-role`
 * prints RoleId): a role id admits every session of the role, a `role:session` only that one.
 */
export function isApprover(approvers: readonly string[], sender: string): boolean {
  const principal = sender.split(':')[0];
  return approvers.some((approver) => approver === sender || approver === principal);
}

/**
 * THE mapping from any name a boundary gives a person to the person, used wherever two names
 * are compared as people (the two-person rule). In order:
 * 1. an assumed role's session name is the person: `AROAEXAMPLE:jdoe` → `jdoe` (the text after
 *    the last `:`; SQS reports role sessions as `<RoleId>:<session>`);
 * 2. a Kerberos realm or mail domain is dropped: `jdoe@ROCKYLINUX.ORG` → `jdoe` (koji users are
 *    Kerberos principals; SSO sessions are often named by mail address);
 * 3. a Kerberos instance is dropped: `jdoe/admin` → `jdoe`;
 * 4. case is ignored: `JDoe` → `jdoe`.
 * An IAM user's unique id (`AIDA…`) has none of these and stays itself, lowercased. The mapping
 * errs towards "same person": two people whose names differ only in realm count as one.
 */
export function personOf(identity: string): string {
  const session = identity.slice(identity.lastIndexOf(':') + 1);
  const principal = session.split('@')[0]!.split('/')[0]!;
  return principal.toLowerCase();
}

/**
 * The requesters a `requestedBy` field names: one user name, or several joined by `,` (every
 * koji user whose tag change is in a compose asked for it).
 */
export function requestersOf(requestedBy: string): string[] {
  return requestedBy.split(',').filter((name) => name !== '');
}

/** Joins requesters into a `requestedBy` field, each once, in first-seen order. */
export function joinRequesters(names: Iterable<string>): string {
  return [...new Set(names)].join(',');
}

/**
 * The requester `sender` is, by personOf, or undefined: the two-person rule refuses a decision
 * from any of them.
 */
export function requesterMatching(sender: string, requestedBy: string): string | undefined {
  const person = personOf(sender);
  return requestersOf(requestedBy).find((requester) => personOf(requester) === person);
}
