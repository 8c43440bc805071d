import { describe, expect, it } from 'vitest';
import { formatComposeId, nextComposeId, parseComposeId } from '../../shared/compose-id.ts';
import { PATTERNS } from '../../shared/patterns.ts';

const base = {
  short: 'Rocky',
  version: '8',
  type: 'updates',
  date: '20210721',
  label: 'production',
} as const;

describe('compose IDs', () => {
  it('forms the IDs pungi forms', () => {
    expect(formatComposeId({ ...base, respin: 1 })).toBe('Rocky-8-updates-20210721.1');
    expect(formatComposeId({ ...base, type: 'ga', respin: 0 })).toBe('Rocky-8-20210721.0');
    expect(formatComposeId({ ...base, short: 'Rocky-devel', label: 'nightly', respin: 2 })).toBe(
      'Rocky-devel-8-updates-20210721.n.2',
    );
    expect(formatComposeId({ ...base, version: '9.1', type: 'ga', label: 'test', respin: 0 })).toBe(
      'Rocky-9.1-20210721.t.0',
    );
  });
  it.each([
    'Rocky-8-updates-20210721.1',
    'Rocky-devel-8-updates-20230101.0',
    'Extras-8-updates-testing-20231231.12',
    'Rocky-8-20221110.0',
    'Rocky-9.1-20221120.t.3',
    'Rocky-9.1-20221115.163904',
    'Rocky-9.3-20231113.000102',
  ])('round-trips %s', (id) => {
    expect(formatComposeId(parseComposeId(id))).toBe(id);
  });
  it('reads the parts back', () => {
    expect(parseComposeId('Rocky-devel-8-updates-20210721.n.4')).toEqual({
      short: 'Rocky-devel',
      version: '8',
      type: 'updates',
      date: '20210721',
      label: 'nightly',
      respin: 4,
    });
  });
  it('reads a Rocky 9 (empanadas) ID, whose last part is the compose time', () => {
    expect(parseComposeId('Rocky-9.1-20221115.163904')).toEqual({
      short: 'Rocky',
      version: '9.1',
      type: 'ga',
      date: '20221115',
      label: 'production',
      respin: 163904,
      time: '163904',
    });
    expect(new RegExp(PATTERNS.composeId).test('Rocky-9.1-20221115.163904')).toBe(true);
    expect(parseComposeId('Rocky-8-updates-20210721.1').time).toBeUndefined();
  });
  it.each([
    ['', 'empty'],
    ['Rocky-9.1-20221115.16390', 'five digits: neither a respin nor a time'],
    ['Rocky-9.1-20221115.1639041', 'seven digits'],
    ['Rocky-9.1-20221115.246000', 'impossible time'],
    ['Rocky-8-updates-2021072.1', 'short date'],
    ['Rocky-8-updates-20210732.0', 'impossible date'],
    ['Rocky-8-updates-20210721', 'no respin'],
    ['Rocky-8-updates-20210721.x.1', 'unknown label'],
    ['Rocky-8-updates-20210721.1;rm -rf /', 'shell metacharacters'],
    ['../Rocky-8-20210721.0', 'a path'],
    ['Rocky-8-UPDATES-20210721.0', 'uppercase type'],
  ])('rejects %j (%s) naming it', (id) => {
    expect(() => parseComposeId(id)).toThrow(JSON.stringify(id));
  });
  it('respin counts existing composes of that day from 0', () => {
    expect(nextComposeId(base, [])).toBe('Rocky-8-updates-20210721.0');
    expect(nextComposeId(base, ['Rocky-8-updates-20210721.0'])).toBe('Rocky-8-updates-20210721.1');
    expect(
      nextComposeId(base, [
        'Rocky-8-updates-20210721.0',
        'Rocky-8-updates-20210721.3',
        'Rocky-8-updates-20210720.7', // another day
        'Rocky-devel-8-updates-20210721.5', // another short
        'Rocky-8-updates-20210721.n.9', // another label
        'Rocky-8-updates-20210721.163904', // a time, not a respin
        'latest-Rocky-8',
        'not-a-compose',
      ]),
    ).toBe('Rocky-8-updates-20210721.4');
  });
});
