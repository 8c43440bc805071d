import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { snsSubject } from '../../functions/adapters/sns.ts';
import type { Clock, Notifier } from '../../shared/ports.ts';

/**
 * Notifications as JSON Lines in `notifications.jsonl`, what SNS would have mailed. One
 * appendFile per notification: O_APPEND keeps concurrent writers' lines whole.
 */
export class FileNotifier implements Notifier {
  constructor(
    readonly file: string,
    private readonly clock: Clock,
  ) {}

  async publish(subject: string, message: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(
      this.file,
      // The subject SNS would deliver: the local log shows no more than the topic would.
      `${JSON.stringify({ at: this.clock.now().toISOString(), subject: snsSubject(subject), message })}\n`,
    );
  }
}
