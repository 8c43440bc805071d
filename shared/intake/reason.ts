import type { z } from 'zod';
import { errorMessage, RelengError } from '../errors.ts';

/** Longest reason kept: reasons go to logs, DLQ diagnostics and CLI output, never unbounded. */
const MAX_REASON = 300;

/** One line, printable, bounded: safe to log whatever hostile text a message carried. */
export function cleanReason(text: string): string {
  const printable = text.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').trim();
  return printable.length > MAX_REASON ? `${printable.slice(0, MAX_REASON - 3)}...` : printable;
}

/** `body.build.nvr: does not equal name-version-release (…)`, the first few issues joined. */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const at = issue.path.map(String).join('.') || '(message)';
    return `${at}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (+${error.issues.length - limit} more)` : '';
  return cleanReason(parts.join('; ') + more);
}

/** A message that is wrong in itself: retrying cannot help, it belongs in the dead-letter queue. */
export class RejectedMessageError extends RelengError {
  override readonly name = 'RejectedMessageError';
  constructor(reason: string) {
    super(cleanReason(reason));
  }
}

/** SQS allows 256 KiB; anything larger was not put there by SQS and is refused before parsing. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Parses a message body as JSON, refusing non-strings, oversize bodies and bad JSON by name. */
export function parseJsonBody(body: unknown): unknown {
  if (typeof body !== 'string') throw new RejectedMessageError(`body is ${typeof body}, not a string`);
  // SQS counts the limit in UTF-8 bytes; a string's length counts UTF-16 units.
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES)
    throw new RejectedMessageError(`body is larger than ${MAX_BODY_BYTES} bytes`);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new RejectedMessageError(`body is not JSON: ${errorMessage(err)}`);
  }
}
