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

/** The names a sender goes by: the whole id and, for an assumed role, its session name. */
function namesOf(identity: string): string[] {
  const names = [identity.toLowerCase()];
  const session = identity.split(':')[1];
  if (session) names.push(session.toLowerCase());
  return names;
}

/** Whether `sender` is the person `requestedBy` names (the two-person rule refuses that). */
export function isSamePerson(sender: string, requestedBy: string): boolean {
  const requester = namesOf(requestedBy);
  return namesOf(sender).some((name) => requester.includes(name));
}
