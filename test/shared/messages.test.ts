import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../shared/config/load.ts';
import { laneForTag, laneId, parseLane } from '../../shared/lanes.ts';
import {
  ApprovalDecisionV1,
  ComposeRequestV1,
  KojiEvent,
  PromotionEventV1,
  StagingReadyV1,
} from '../../shared/messages/index.ts';

const build = { name: 'bash', version: '4.4.20', release: '4.el8_6', nvr: 'bash-4.4.20-4.el8_6' };
const tagMessage = {
  topic: 'buildsys.tag',
  body: {
    tag: { name: 'dist-rocky8-updates-build', id: 42, arches: null, locked: false },
    build: { ...build, build_id: 1234, owner_name: 'releng', state: 1, task_id: 99 },
    user: { name: 'kojira', id: 7 },
  },
};
const digest = 'a'.repeat(64);

/** The dotted path of the first issue, which is what a log line or DLQ reason names. */
function failingField(
  schema: {
    safeParse(v: unknown): {
      success: boolean;
      error?: { issues: { path: PropertyKey[]; message: string }[] };
    };
  },
  value: unknown,
) {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  const issue = result.error!.issues[0]!;
  return `${issue.path.map(String).join('.')}: ${issue.message}`;
}

describe('koji events (protonmsg bodies wrapped with their topic)', () => {
  it('accepts a real-shaped tag message, keeping the fields we use', () => {
    const parsed = KojiEvent.parse(tagMessage);
    expect(parsed.topic).toBe('buildsys.tag');
    if (parsed.topic === 'buildsys.build.state.change') throw new Error('unreachable');
    expect(parsed.body.build).toEqual(build);
    expect(parsed.body.tag.name).toBe('dist-rocky8-updates-build');
  });
  it('accepts untag and build state changes (numeric states mapped to names)', () => {
    expect(KojiEvent.parse({ ...tagMessage, topic: 'buildsys.untag' }).topic).toBe('buildsys.untag');
    const state = KojiEvent.parse({
      topic: 'buildsys.build.state.change',
      body: { attribute: 'state', old: 0, new: 1, info: build },
    });
    expect(state.topic === 'buildsys.build.state.change' && state.body.new).toBe('COMPLETE');
  });
  it.each([
    [{ ...tagMessage, topic: 'buildsys.repo.done' }, /^topic: topic must be/],
    [{ topic: 'buildsys.tag' }, /^body: /],
    [
      { ...tagMessage, body: { ...tagMessage.body, tag: { name: 'dist; rm -rf /' } } },
      /^body\.tag\.name: not a valid koji tag/,
    ],
    [{ ...tagMessage, body: { ...tagMessage.body, tag: { name: 42 } } }, /^body\.tag\.name: /],
    [
      {
        ...tagMessage,
        body: {
          ...tagMessage.body,
          build: { ...build, release: '$(curl evil)', nvr: 'bash-4.4.20-$(curl evil)' },
        },
      },
      /^body\.build\.release: not a valid version/,
    ],
    [
      { ...tagMessage, body: { ...tagMessage.body, build: { ...build, nvr: 'bash-4.4.21-4.el8_6' } } },
      /^body\.build\.nvr: does not equal name-version-release/,
    ],
    [
      { ...tagMessage, body: { ...tagMessage.body, build: { ...build, name: '`id`' } } },
      /^body\.build\.name: not a valid package name/,
    ],
    [
      { ...tagMessage, body: { ...tagMessage.body, user: { name: 'a\nb' } } },
      /^body\.user\.name: not a valid user name/,
    ],
    [{ ...tagMessage, extra: 1 }, /Unrecognized key/],
  ])('rejects a malformed or hostile message naming the field (%#)', (message, expected) => {
    expect(failingField(KojiEvent, message)).toMatch(expected);
  });
});

describe('compose requests', () => {
  const request = {
    version: 1,
    major: '8',
    composes: [{ name: 'Rocky', kind: 'updates' }],
    requestedBy: 'kojira',
    reason: 'tag event',
    requestId: 'lane-8-Rocky-1',
  };
  it('accepts a request and fills the channel', () => {
    expect(ComposeRequestV1.parse(request)).toMatchObject({ channel: 'stable', sigs: [] });
  });
  it.each([
    [{ ...request, version: 2 }, /^version: /],
    [{ ...request, composes: [] }, /^composes: must name at least one compose/],
    [
      { ...request, composes: [{ name: 'Rocky', kind: 'nightly' }] },
      /^composes\.0\.kind: must be one of produce, updates/,
    ],
    [
      { ...request, composes: [{ name: 'Rocky&&reboot', kind: 'updates' }] },
      /^composes\.0\.name: not a valid name/,
    ],
    [{ ...request, channel: 'unstable' }, /^channel: must be one of stable, beta, lh/],
    [{ ...request, revision: '8.1; reboot' }, /^revision: not a valid revision/],
    [{ ...request, reason: 'x\u0007' }, /^reason: contains control characters/],
  ])('rejects a bad request naming the field (%#)', (value, expected) => {
    expect(failingField(ComposeRequestV1, value)).toMatch(expected);
  });
});

describe('promotion events and approval decisions', () => {
  const ready = {
    version: 1,
    type: 'staging-ready',
    major: '8',
    channel: 'stable',
    revision: '8.10',
    digest,
    requestedBy: 'release-bot',
    summary: {
      composeIds: ['Rocky-8-updates-20261127.0'],
      advisories: ['RLBA-2026:0001'],
      packageCount: 12,
      repoCount: 4,
      diff: { added: 3, changed: 2, removed: 0 },
    },
  };
  it('accepts staging-ready, approve and reject', () => {
    expect(PromotionEventV1.parse(ready)).toMatchObject({ type: 'staging-ready', sigs: [] });
    expect(PromotionEventV1.parse({ version: 1, type: 'approve', approvalId: 'p-1', digest }).type).toBe(
      'approve',
    );
    expect(
      ApprovalDecisionV1.parse({
        version: 1,
        type: 'reject',
        approvalId: 'p-1',
        digest,
        reason: 'bad kernel',
      }).type,
    ).toBe('reject');
  });
  it.each([
    [StagingReadyV1, { ...ready, digest: 'abc' }, /^digest: not a valid sha256/],
    [
      StagingReadyV1,
      { ...ready, summary: { ...ready.summary, advisories: ['RLSA-2026:1; rm'] } },
      /^summary\.advisories\.0: not an advisory id/,
    ],
    [ApprovalDecisionV1, { version: 1, type: 'reject', approvalId: 'p-1', digest }, /^reason: /],
    [
      ApprovalDecisionV1,
      { version: 1, type: 'approve', approvalId: '../x', digest },
      /^approvalId: not a valid id/,
    ],
    [
      ApprovalDecisionV1,
      { version: 1, type: 'approve', approvalId: 'p-1', digest, approvedBy: 'someone-else' },
      /Unrecognized key.*approvedBy/,
    ],
  ])('rejects a bad event naming the field (%#)', (schema, value, expected) => {
    expect(failingField(schema, value)).toMatch(expected);
  });
});

describe('lanes', () => {
  const config = buildConfig();
  it('maps koji tags to lanes through config; unknown tags map to none', () => {
    expect(laneId(laneForTag(config, 'dist-rocky8-updates-build')!)).toBe('8/Rocky');
    expect(laneForTag(config, 'dist-rocky8-extras-build')).toEqual({ major: '8', compose: 'Extras' });
    expect(laneForTag(config, 'f39-updates')).toBeUndefined();
  });
  it('parses lane ids and rejects unknown composes by name', () => {
    expect(parseLane(config, '8/Rocky-devel')).toEqual({ major: '8', compose: 'Rocky-devel' });
    expect(() => parseLane(config, '9/Extras')).toThrow(/compose Extras is not one of Rocky/);
    expect(() => parseLane(config, '8/Rocky;id')).toThrow(/"8\/Rocky;id"/);
  });
});
