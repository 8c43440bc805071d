import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { Identifier, Major, Revision } from '../../shared/fields.ts';
import { ComposeId, Sha256 } from '../../shared/messages/fields.ts';
import { HOST_OPERATIONS, type HostOperationName, paramPattern, paramsOf } from '../../shared/operations.ts';
import type { PatternName } from '../../shared/patterns.ts';

/**
 * The SSM documents take their allowedPattern from the operation catalogue (proved against the
 * synthesized template in test/cdk/host-documents.test.ts). Here the other side: for every
 * catalogue parameter a message field also carries, the zod schema and the SSM pattern accept
 * exactly the same strings, so a value a message lets through is never refused on the host,
 * and nothing the host would refuse gets through a message.
 */
const MESSAGE_FIELDS: Partial<Record<PatternName, z.ZodType>> = {
  major: Major,
  revision: Revision,
  identifier: Identifier,
  sha256: Sha256,
  composeId: ComposeId,
};

const near = fc.oneof(
  fc.constantFrom(
    '8',
    '8.10',
    'Rocky',
    'Rocky-devel',
    'a'.repeat(64),
    'Rocky-8-updates-20210721.1',
    'Rocky;reboot',
    '$(id)',
    '8.10\n',
    "a'b",
    '../etc',
    '-rf',
    '',
  ),
  fc.string({ unit: fc.constantFrom(...'aZ09.-_;$`\'"\n /|&()'.split('')), maxLength: 70 }),
  fc.string({ maxLength: 70 }),
);

const pairs = (Object.keys(HOST_OPERATIONS) as HostOperationName[]).flatMap((op) =>
  paramsOf(op)
    .filter((p) => p.kind.type === 'pattern' && MESSAGE_FIELDS[p.kind.pattern])
    .map((p) => [op, p.name, p.kind.type === 'pattern' ? p.kind.pattern : undefined] as const),
);

describe('SSM parameter patterns and zod message fields agree', () => {
  it('covers the parameters messages feed: major, revision, compose, sig, approved digest, resume, previous', () => {
    expect(new Set(pairs.map(([, name]) => name))).toEqual(
      new Set(['major', 'revision', 'compose', 'sig', 'approved-digest', 'resume', 'previous']),
    );
  });

  it.each(pairs)('%s --%s: zod and the SSM allowedPattern accept the same strings', (op, name, pattern) => {
    const param = paramsOf(op).find((p) => p.name === name)!;
    const ssm = new RegExp(paramPattern(param)!);
    const schema = MESSAGE_FIELDS[pattern!]!;
    fc.assert(
      fc.property(near, (value) => schema.safeParse(value).success === ssm.test(value)),
      { numRuns: 2000, seed: 42 },
    );
  });
});
