import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../../shared/ports.ts';
import { AWS_CALL_LIMITS } from './limits.ts';

export const createSnsClient = () => new SNSClient({ ...AWS_CALL_LIMITS });

/** SNS subjects are at most 100 printable ASCII characters with no line breaks. */
export function snsSubject(subject: string): string {
  return subject.replace(/[^\x20-\x7e]/g, ' ').slice(0, 100);
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(subject: string, message: string): Promise<void> {
    await this.sns.send(
      new PublishCommand({ TopicArn: this.topicArn, Subject: snsSubject(subject), Message: message }),
    );
  }
}
