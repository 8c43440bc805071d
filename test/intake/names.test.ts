import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyNvrChanges,
  followUpExecutionName,
  nvrSetDigest,
  promotionExecutionName,
  windowExecutionName,
} from '../../shared/intake/names.ts';
import { REGEX } from '../../shared/patterns.ts';

const nvr = fc.stringMatching(/^[a-z]{1,3}-[0-9]-[0-9]$/);

describe('lane NVR sets', () => {
  it('apply changes exactly as a set would, keeping the array sorted', () => {
    fc.assert(
      fc.property(fc.array(nvr), fc.array(nvr), fc.array(nvr), (start, add, remove) => {
        const sorted = [...new Set(start)].sort();
        const expected = new Set(sorted);
        for (const n of add) expected.add(n);
        for (const n of remove) expected.delete(n);
        expect(applyNvrChanges(sorted, add, remove)).toEqual([...expected].sort());
      }),
    );
  });

  it('digest the set, not the order or repetitions', () => {
    fc.assert(
      fc.property(fc.array(nvr), (items) => {
        expect(nvrSetDigest([...items].reverse().concat(items))).toBe(
          nvrSetDigest([...new Set(items)].sort()),
        );
      }),
    );
    expect(nvrSetDigest(['a-1-1'])).not.toBe(nvrSetDigest(['a-1-2']));
  });
});

describe('execution names', () => {
  const lane = { major: '8', compose: 'Rocky-devel' };
  it('name one execution per lane and quiet window', () => {
    const at = (iso: string) => windowExecutionName(lane, new Date(iso), 300);
    expect(at('2026-11-27T10:04:59Z')).toBe('compose-8-Rocky-devel-20261127T100000Z');
    expect(at('2026-11-27T10:00:00Z')).toBe(at('2026-11-27T10:04:59Z'));
    expect(at('2026-11-27T10:05:00Z')).toBe('compose-8-Rocky-devel-20261127T100500Z');
  });

  it('stay valid Step Functions names for the longest compose names', () => {
    const long = { major: '123', compose: `A${'b'.repeat(63)}` };
    for (const name of [
      windowExecutionName(long, new Date(), 86400),
      followUpExecutionName(long, 'x'.repeat(80)),
      promotionExecutionName('123', 'stable', 'f'.repeat(64)),
    ]) {
      expect(name).toMatch(REGEX.executionName);
    }
    expect(windowExecutionName(long, new Date(0), 60)).not.toBe(
      windowExecutionName({ ...long, compose: `A${'b'.repeat(62)}c` }, new Date(0), 60),
    );
  });
});
