import type { ReleaseConfig } from '../config/schema.ts';
import type { StagingReadyV1 } from '../messages/promotion.ts';
import { ReleaseError, resolveRelease } from '../release.ts';

/**
 * The SenderIds of the local engine's staging and minor-release state machines (its SQS adapter,
 * cli/engine/adapters/messaging.ts, sends as `local:state-machine/<name>`). SQS never reports a
 * SenderId of this form, so admitting them on AWS admits no one.
 */
export const LOCAL_PIPELINE_SENDERS: readonly string[] = [
  'local:state-machine/staging',
  'local:state-machine/minor-release',
];

/**
 * Whether SQS says the staging pipeline itself sent a message. `pipelineSenders` are the ids of
 * its state machine's role (`AROA…`: Step Functions sends as `<RoleId>:<session>`, the session
 * name random) or whole local sender ids; a role id admits any session of that role only.
 */
export function isPipelineSender(pipelineSenders: readonly string[], sender: string): boolean {
  return pipelineSenders.some(
    (id) => id === sender || (id !== '' && !id.includes(':') && sender.startsWith(`${id}:`)),
  );
}

/**
 * Why a staging-ready message must not start a promotion, or undefined when it may. Its body
 * (digest, summary, requestedBy) is believed only because SQS vouches that the staging pipeline
 * sent it: the summary is verify-staging's and requestedBy the staging execution's input, so a
 * queue sender who is not the pipeline can neither start a promotion nor write what approvers
 * read. Major, channel and revision must name a configured release.
 */
export function stagingReadyRefusal(
  config: ReleaseConfig,
  ready: StagingReadyV1,
  sender: string | undefined,
  pipelineSenders: readonly string[],
): string | undefined {
  if (!sender) return 'the sender is unknown (no SenderId)';
  if (!isPipelineSender(pipelineSenders, sender)) {
    return `sender ${sender} is not the staging pipeline; only its state machine announces staged releases`;
  }
  try {
    const release = resolveRelease(config, {
      major: ready.major,
      channel: ready.channel,
      revision: ready.revision,
    });
    const sigs = release.settings.sigComposes;
    const unknown = ready.sigs.filter((sig) => !Object.hasOwn(sigs, sig));
    if (unknown.length) return `SIG ${unknown.join(', ')} is not configured for major ${ready.major}`;
    if (ready.sig !== undefined && !Object.hasOwn(sigs, ready.sig))
      return `SIG ${ready.sig} is not configured for major ${ready.major}`;
  } catch (err) {
    if (err instanceof ReleaseError) return err.message;
    throw err;
  }
  return undefined;
}
