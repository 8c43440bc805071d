import * as z from 'zod';
import { errorMessage } from '../errors.ts';
import { KojiTag, PackageName, UserName, VersionOrRelease } from './fields.ts';
import { BuildState, checkNvr, KojiEvent } from './koji.ts';

/**
 * The koji queue's bodies as brokers really deliver them, turned into the canonical KojiEvent:
 *
 * - canonical: `{"topic": "buildsys.tag", "body": {"tag": {"name"}, "build": {…}, "user": {"name"}}}`
 *   (no prefix, validated strictly by KojiEvent);
 * - fedora-messaging (koji-fedoramessaging plugin): `<prefix>.buildsys.tag|untag` with a flat body
 *   (`tag`, `name`, `version`, `release`, `user`, `owner`, `build_id`, `tag_id`, `instance`), as
 *   fedora_messaging serialises a Message: `{topic, headers, id, body, queue}`;
 *   `<prefix>.buildsys.build.state.change` likewise;
 * - koji's protonmsg plugin: address `[topic://]<prefix>.build.tag|untag` with koji's callback
 *   arguments as body (`tag`, `build` and `user` objects; a JSON string on the wire), and
 *   `<prefix>.build.<state>` for build state changes;
 * - any of these inside an SNS notification (`Message`, a JSON string) or an EventBridge event
 *   (`detail`), nested at most three deep.
 *
 * Fields we do not use are dropped; the ones we use are checked as tightly as the canonical shape.
 * Issues name the path in the body as it arrived (`Message.body.name`).
 */

type Path = (string | number)[];
type Issue = { path: Path; message: string; input?: unknown };

export type WireShape = 'canonical' | 'fedora-messaging' | 'protonmsg';
export type WireEnvelope = 'sns' | 'eventbridge';

export type KojiWireResult =
  | { success: true; data: KojiEvent; shape: WireShape; envelopes: WireEnvelope[] }
  | { success: false; error: z.ZodError };

const MAX_ENVELOPES = 3;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const failure = (issues: Issue[]): KojiWireResult => ({
  success: false,
  error: new z.ZodError(issues.map((i) => ({ code: 'custom' as const, input: i.input, ...i }))),
});

const prefixed = (path: Path, error: z.ZodError): KojiWireResult =>
  failure(
    error.issues.map((i) => ({
      path: [...path, ...i.path.map((p) => p as string | number)],
      message: i.message,
    })),
  );

/** Takes SNS and EventBridge envelopes off, remembering where in the body the message sat. */
function unwrap(
  raw: unknown,
): { message: unknown; path: Path; envelopes: WireEnvelope[] } | { issue: Issue } {
  let message = raw;
  const path: Path = [];
  const envelopes: WireEnvelope[] = [];
  for (;;) {
    const sns = isObject(message) && message.Type === 'Notification' && 'Message' in message;
    const eventBridge = isObject(message) && 'detail-type' in message && 'detail' in message;
    if (!sns && !eventBridge) return { message, path, envelopes };
    if (envelopes.length === MAX_ENVELOPES)
      return { issue: { path, message: `envelopes nested more than ${MAX_ENVELOPES} deep` } };
    const record = message as Record<string, unknown>;
    if (sns) {
      path.push('Message');
      if (typeof record.Message !== 'string')
        return { issue: { path, message: 'SNS Message is not a string', input: typeof record.Message } };
      try {
        message = JSON.parse(record.Message);
      } catch (err) {
        return { issue: { path, message: `SNS Message is not JSON: ${errorMessage(err)}` } };
      }
      envelopes.push('sns');
    } else {
      path.push('detail');
      message = record.detail;
      envelopes.push('eventbridge');
    }
  }
}

const FlatBuild = { name: PackageName, version: VersionOrRelease, release: VersionOrRelease };

/** koji's buildinfo as protonmsg sends it: many fields, `nvr` checked when present. */
const BuildInfo = z.object({ ...FlatBuild, nvr: z.string().max(400).optional() }).superRefine(checkNvr);
type BuildInfo = z.infer<typeof BuildInfo>;
const canonicalBuild = (b: BuildInfo) => ({
  name: b.name,
  version: b.version,
  release: b.release,
  nvr: b.nvr ?? `${b.name}-${b.version}-${b.release}`,
});

/** protonmsg sends json.dumps of the callback arguments; a bridge may have parsed it already. */
const JsonBody = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not JSON: ${errorMessage(err)}`, input: value });
      return z.NEVER;
    }
  }, schema);

const NestedTagBody = z.object({
  tag: z.object({ name: KojiTag }),
  build: BuildInfo,
  user: z.object({ name: UserName }),
});
const FlatTagBody = z.object({ tag: KojiTag, ...FlatBuild, user: UserName });
const NestedStateBody = z.object({
  attribute: z.literal('state'),
  old: BuildState.nullable(),
  new: BuildState,
  info: BuildInfo,
});
const FlatStateBody = z.object({
  attribute: z.literal('state'),
  old: BuildState.nullable(),
  new: BuildState,
  ...FlatBuild,
});

type Change = 'buildsys.tag' | 'buildsys.untag' | 'buildsys.build.state.change';
const PROTON_STATES = ['building', 'complete', 'deleted', 'failed', 'canceled'];

/** The topic ending each real shape uses, longest first, with what it means. */
const SUFFIXES: Array<{ suffix: string; shape: Exclude<WireShape, 'canonical'>; change: Change }> = [
  { suffix: 'buildsys.build.state.change', shape: 'fedora-messaging', change: 'buildsys.build.state.change' },
  { suffix: 'buildsys.untag', shape: 'fedora-messaging', change: 'buildsys.untag' },
  { suffix: 'buildsys.tag', shape: 'fedora-messaging', change: 'buildsys.tag' },
  { suffix: 'build.untag', shape: 'protonmsg', change: 'buildsys.untag' },
  { suffix: 'build.tag', shape: 'protonmsg', change: 'buildsys.tag' },
  ...PROTON_STATES.map((state) => ({
    suffix: `build.${state}`,
    shape: 'protonmsg' as const,
    change: 'buildsys.build.state.change' as const,
  })),
];

/** Body of a real shape to the canonical event; the body's own form (flat or nested) decides. */
function canonicalOf(change: Change, body: unknown) {
  if (change === 'buildsys.build.state.change') {
    const nested = isObject(body) && isObject(body.info);
    const parsed = (nested ? NestedStateBody : FlatStateBody).safeParse(body);
    if (!parsed.success) return parsed;
    const d = parsed.data;
    const info = 'info' in d ? canonicalBuild(d.info) : canonicalBuild({ ...d, nvr: undefined });
    return {
      success: true as const,
      data: { topic: change, body: { attribute: d.attribute, old: d.old, new: d.new, info } },
    };
  }
  const nested = isObject(body) && isObject(body.tag);
  const parsed = (nested ? NestedTagBody : FlatTagBody).safeParse(body);
  if (!parsed.success) return parsed;
  const d = parsed.data;
  const event =
    'build' in d
      ? { tag: d.tag, build: canonicalBuild(d.build), user: d.user }
      : { tag: { name: d.tag }, build: canonicalBuild({ ...d, nvr: undefined }), user: { name: d.user } };
  return { success: true as const, data: { topic: change, body: event } };
}

/**
 * Reads one koji queue message (already JSON-parsed) in any accepted shape. `topicPrefixes` are
 * the configured prefixes (config.koji.topicPrefixes); a real shape under any other is refused.
 */
export function parseKojiWire(raw: unknown, topicPrefixes: readonly string[]): KojiWireResult {
  const unwrapped = unwrap(raw);
  if ('issue' in unwrapped) return failure([unwrapped.issue]);
  const { message, path, envelopes } = unwrapped;
  if (!isObject(message)) return failure([{ path, message: 'not a JSON object', input: message }]);

  // protonmsg's AMQP address names the topic; a bridge may keep it under either key.
  const topicKey = 'topic' in message || !('address' in message) ? 'topic' : 'address';
  const topic = message[topicKey];
  if (typeof topic !== 'string' || topic.length > 255)
    return failure([{ path: [...path, topicKey], message: 'must be a topic string', input: topic }]);
  const bare = topic.replace(/^topic:\/\//, '');

  // Our own shape carries no prefix: KojiEvent checks it strictly, as before.
  if (bare.startsWith('buildsys.')) {
    const parsed = KojiEvent.safeParse(message);
    return parsed.success
      ? { success: true, data: parsed.data, shape: 'canonical', envelopes }
      : prefixed(path, parsed.error);
  }

  const known = SUFFIXES.find(({ suffix }) => bare.endsWith(`.${suffix}`));
  const prefix = known ? bare.slice(0, -known.suffix.length - 1) : undefined;
  const at = [...path, topicKey];
  if (!known || prefix === undefined) {
    const under = topicPrefixes.some((p) => bare.startsWith(`${p}.`));
    return failure([
      {
        path: at,
        message: under
          ? `${JSON.stringify(topic)} is not a koji tag, untag or build state topic`
          : `${JSON.stringify(topic)} is not a koji topic under a configured prefix (${topicPrefixes.join(', ')})`,
      },
    ]);
  }
  if (!topicPrefixes.includes(prefix))
    return failure([
      {
        path: at,
        message: `${JSON.stringify(topic)}: prefix ${JSON.stringify(prefix)} is not configured (koji.topicPrefixes: ${topicPrefixes.join(', ')})`,
      },
    ]);

  const body = JsonBody(z.unknown()).safeParse(message.body);
  if (!body.success) return prefixed([...path, 'body'], body.error);
  const canonical = canonicalOf(known.change, body.data);
  if (!canonical.success) return prefixed([...path, 'body'], canonical.error);
  // The canonical schema is the one contract the rest of intake reads: hold the result to it.
  const checked = KojiEvent.safeParse(canonical.data);
  return checked.success
    ? { success: true, data: checked.data, shape: known.shape, envelopes }
    : prefixed(path, checked.error);
}
