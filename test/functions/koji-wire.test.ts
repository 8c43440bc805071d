import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import { parseKojiWire } from '../../shared/messages/koji-wire.ts';
import { inEventBridge, inSns } from './envelopes.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import {
  bashBuild,
  captureLog,
  kojiEventsHandler,
  manualClock,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from './support.ts';

/** Real broker messages (test/fixtures/koji-messages/README.md says where each comes from). */
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/koji-messages/${name}.json`, import.meta.url), 'utf8'));

const WRAPPINGS = { raw: (m: unknown) => m, sns: inSns, eventbridge: inEventBridge };

/** The fixtures' tags, mapped to lanes as a deployment lists its koji's tags. */
const config = () =>
  testConfig({
    majors: {
      '8': {
        kojiTags: { 'f31-updates-pending': 'Rocky', 'epel8-signing-pending': 'Plus', 'test-tag': 'Extras' },
      },
    },
  });

let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
let log: ReturnType<typeof captureLog>;
let handler: ReturnType<typeof createKojiEventsHandler>;

beforeEach(async () => {
  const clock = manualClock();
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
  log = captureLog();
  handler = kojiEventsHandler(stores, sfn, clock, log, config());
});
afterEach(() => stores.cleanup());

const CASES = [
  { file: 'fedora-messaging-tag', lane: '8-Rocky', change: 'tag http-parser-2.9.3-1.fc31', user: 'bodhi' },
  {
    file: 'fedora-messaging-untag',
    lane: '8-Plus',
    change: 'untag python-twisted-19.10.0-2.el8',
    user: 'autopen',
  },
  { file: 'protonmsg-tag', lane: '8-Extras', change: 'tag test-pkg-1.0-1', user: 'test-user' },
  { file: 'protonmsg-untag', lane: '8-Extras', change: 'untag test-pkg-1.0-1', user: 'test-user' },
];

describe('koji-events takes real broker messages', () => {
  for (const { file, lane, change, user } of CASES) {
    for (const [wrapping, wrap] of Object.entries(WRAPPINGS)) {
      it(`${file} (${wrapping}) starts the compose of lane ${lane}`, async () => {
        const body = JSON.stringify(wrap(fixture(file)));
        const response = await handler(sqsEvent([sqsRecord('m', body)]));
        expect(response.batchItemFailures).toEqual([]);
        const [start, ...more] = sfn.starts();
        expect(more).toEqual([]);
        expect(start?.name).toBe(`compose-${lane}-20261127T100000Z`);
        const request = ComposeRequestV1.parse(JSON.parse(start!.input!));
        expect(request.reason).toContain(change);
        expect(request.requestedBy).toBe(user);
      });
    }
  }

  it('acknowledges a fedora-messaging build state change without composing', async () => {
    const body = JSON.stringify(inSns(fixture('fedora-messaging-build-complete')));
    const response = await handler(sqsEvent([sqsRecord('state', body)]));
    expect(response.batchItemFailures).toEqual([]);
    expect(sfn.starts()).toEqual([]);
    expect(log.lines.find((l) => l.message === 'koji event acknowledged without compose')?.reason).toBe(
      'build chromium-80.0.3987.132-1.fc33 state BUILDING -> COMPLETE: no tag, nothing to compose',
    );
  });
});

describe('koji-events refuses wrong real messages by name and processes the rest', () => {
  it('fails a wrong prefix, a missing field and a bad protonmsg body; the good records start their lanes', async () => {
    const tag = fixture('fedora-messaging-tag');
    const foreign = { ...tag, topic: 'org.example.prod.buildsys.tag' };
    const { user: _dropped, ...noUser } = tag.body as Record<string, unknown>;
    const missingUser = { ...tag, body: noUser };
    const badNvr = {
      ...fixture('protonmsg-tag'),
      body: JSON.stringify({
        tag: { name: 'test-tag' },
        build: { name: 'test-pkg', version: '1.0', release: '1', nvr: 'other-1.0-1' },
        user: { name: 'test-user' },
      }),
    };
    const notJson = { ...fixture('protonmsg-tag'), body: '{"tag": ' };
    const unknownTopic = { ...tag, topic: 'org.fedoraproject.prod.buildsys.repo.init' };
    const response = await handler(
      sqsEvent([
        sqsRecord('good-fedora', JSON.stringify(inSns(tag))),
        sqsRecord('foreign', JSON.stringify(inSns(foreign))),
        sqsRecord('missing-user', JSON.stringify(missingUser)),
        sqsRecord('bad-nvr', JSON.stringify(inEventBridge(badNvr))),
        sqsRecord('not-json', JSON.stringify(notJson)),
        sqsRecord('unknown-topic', JSON.stringify(unknownTopic)),
        sqsRecord('good-proton', JSON.stringify(inEventBridge(fixture('protonmsg-tag')))),
        sqsRecord('good-canonical', bashBuild(1)),
      ]),
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'bad-nvr',
      'foreign',
      'missing-user',
      'not-json',
      'unknown-topic',
    ]);
    const reasons = Object.fromEntries(
      log.lines.filter((l) => l.message === 'koji event rejected').map((l) => [l.messageId, l.reason]),
    );
    expect(reasons.foreign).toMatch(
      /^Message\.topic: "org\.example\.prod\.buildsys\.tag": prefix "org\.example\.prod" is not configured \(koji\.topicPrefixes: org\.rockylinux\.prod, /,
    );
    expect(reasons['missing-user']).toBe('body.user: Invalid input: expected string, received undefined');
    expect(reasons['bad-nvr']).toBe(
      'detail.body.build.nvr: does not equal name-version-release (test-pkg-1.0-1)',
    );
    expect(reasons['not-json']).toMatch(/^body: is not JSON: /);
    expect(reasons['unknown-topic']).toBe(
      'topic: "org.fedoraproject.prod.buildsys.repo.init" is not a koji tag, untag or build state topic',
    );
    expect(sfn.starts().map((s) => s.name)).toEqual([
      'compose-8-Rocky-20261127T100000Z',
      'compose-8-Extras-20261127T100000Z',
    ]);
  });

  it('accepts another prefix only once it is configured', () => {
    const message = { ...fixture('fedora-messaging-tag'), topic: 'org.example.prod.buildsys.tag' };
    expect(parseKojiWire(message, ['org.rockylinux.prod']).success).toBe(false);
    const accepted = parseKojiWire(message, ['org.rockylinux.prod', 'org.example.prod']);
    expect(accepted).toMatchObject({
      success: true,
      shape: 'fedora-messaging',
      data: {
        topic: 'buildsys.tag',
        body: { tag: { name: 'f31-updates-pending' }, user: { name: 'bodhi' } },
      },
    });
  });

  it('refuses envelopes nested deeper than three, and an SNS Message that is not JSON', () => {
    const deep = inSns(inSns(inEventBridge(inSns(fixture('protonmsg-tag')))));
    const refused = parseKojiWire(deep, ['koji']);
    expect(refused.success).toBe(false);
    expect(!refused.success && refused.error.issues[0]?.message).toBe('envelopes nested more than 3 deep');
    const three = parseKojiWire(inSns(inEventBridge(inSns(fixture('protonmsg-tag')))), ['koji']);
    expect(three).toMatchObject({
      success: true,
      shape: 'protonmsg',
      envelopes: ['sns', 'eventbridge', 'sns'],
    });
    const broken = parseKojiWire({ ...inSns({}), Message: '{' }, ['koji']);
    expect(!broken.success && broken.error.issues[0]?.path).toEqual(['Message']);
  });

  it('checks the fields it uses as tightly in real shapes as in the canonical one', () => {
    const tag = fixture('fedora-messaging-tag');
    const hostile = { ...tag, body: { ...(tag.body as object), name: 'bash;reboot' } };
    const result = parseKojiWire(hostile, ['org.fedoraproject.prod']);
    expect(!result.success && result.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['body.name', 'not a valid package name'],
    ]);
  });
});
