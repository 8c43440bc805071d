import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, parseJsonBody, RejectedMessageError } from '../../shared/intake/reason.ts';

/** SQS counts its 256 KiB limit in UTF-8 bytes; a JavaScript string's length counts UTF-16 units. */
describe('the message body limit', () => {
  const body = (chars: number, char: string) => JSON.stringify(char.repeat(chars));

  it('refuses a body over 256 KiB in bytes though under it in UTF-16 units', () => {
    const text = body(MAX_BODY_BYTES / 2, 'é'); // 2 bytes each in UTF-8, 1 unit each in UTF-16
    expect(text.length).toBeLessThan(MAX_BODY_BYTES);
    expect(() => parseJsonBody(text)).toThrow(RejectedMessageError);
    expect(() => parseJsonBody(text)).toThrow(`body is larger than ${MAX_BODY_BYTES} bytes`);
  });

  it('takes a body of exactly 256 KiB', () => {
    const text = body(MAX_BODY_BYTES - 2, 'a');
    expect(Buffer.byteLength(text)).toBe(MAX_BODY_BYTES);
    expect(parseJsonBody(text)).toHaveLength(MAX_BODY_BYTES - 2);
  });
});
