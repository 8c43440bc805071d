import { describe, expect, it } from 'vitest';
import {
  joinRequesters,
  personOf,
  requesterMatching,
  requestersOf,
} from '../../shared/approvals/identity.ts';
import { Requesters } from '../../shared/messages/fields.ts';

describe('personOf: the one mapping from a name to the person', () => {
  it.each([
    ['jdoe@ROCKYLINUX.ORG', 'jdoe'],
    ['AROAEXAMPLE:jdoe', 'jdoe'],
    ['AROAEXAMPLE:JDoe@rockylinux.org', 'jdoe'],
    ['jdoe/admin@ROCKYLINUX.ORG', 'jdoe'],
    ['JDOE', 'jdoe'],
    ['AIDAEXAMPLEUSER', 'aidaexampleuser'],
  ])('%s is %s', (identity, person) => {
    expect(personOf(identity)).toBe(person);
  });
});

describe('requesters', () => {
  it('joins each requester once, in order, into a field the messages accept', () => {
    const joined = joinRequesters(['kojira', 'jdoe@ROCKYLINUX.ORG', 'kojira', 'asmith']);
    expect(joined).toBe('kojira,jdoe@ROCKYLINUX.ORG,asmith');
    expect(Requesters.parse(joined)).toBe(joined);
    expect(requestersOf(joined)).toEqual(['kojira', 'jdoe@ROCKYLINUX.ORG', 'asmith']);
  });

  it.each(['', ',', 'a,,b', 'a, b', 'a;b', 'a,'])('refuses %j as a requester list', (value) => {
    expect(Requesters.safeParse(value).success).toBe(false);
  });

  it('finds the sender among the requesters whatever the realm, role session or case', () => {
    expect(requesterMatching('AROAROLE:jdoe', 'jdoe@ROCKYLINUX.ORG')).toBe('jdoe@ROCKYLINUX.ORG');
    expect(requesterMatching('jdoe@ROCKYLINUX.ORG', 'kojira,JDOE')).toBe('JDOE');
    expect(requesterMatching('AROAROLE:bob', 'kojira,jdoe@ROCKYLINUX.ORG')).toBeUndefined();
  });
});
