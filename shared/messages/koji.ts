import * as z from 'zod';
import { KojiTag, PackageName, UserName, VersionOrRelease } from './fields.ts';

/**
 * The canonical koji event intake works on, modelled on koji's protonmsg callback arguments and
 * wrapped with its topic. Koji adds many fields we do not use; those are dropped, the ones we use
 * are checked tightly. Koji defines the shape, so there is no version field of ours: the topic
 * names it. The shapes real brokers deliver are turned into this one by koji-wire.ts.
 */
/** Flags an `nvr` that is not the build's name-version-release: the two must name one build. */
export function checkNvr(
  b: { name: string; version: string; release: string; nvr?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  const expected = `${b.name}-${b.version}-${b.release}`;
  if (b.nvr !== undefined && b.nvr !== expected) {
    ctx.addIssue({
      code: 'custom',
      path: ['nvr'],
      message: `does not equal name-version-release (${expected})`,
      input: b.nvr,
    });
  }
}

export const KojiBuild = z
  .object({
    name: PackageName,
    version: VersionOrRelease,
    release: VersionOrRelease,
    nvr: z.string().max(400),
  })
  .superRefine(checkNvr);
export type KojiBuild = z.infer<typeof KojiBuild>;

const TagBody = z.object({
  tag: z.object({ name: KojiTag }),
  build: KojiBuild,
  user: z.object({ name: UserName }),
});

/** Koji build states, by name or by koji's numeric code. */
export const BUILD_STATES = ['BUILDING', 'COMPLETE', 'DELETED', 'FAILED', 'CANCELED'] as const;
export const BuildState = z.union([
  z.enum(BUILD_STATES),
  z
    .number()
    .int()
    .min(0)
    .max(4)
    .transform((n) => BUILD_STATES[n]!),
]);

const StateChangeBody = z.object({
  attribute: z.literal('state'),
  old: BuildState.nullable(),
  new: BuildState,
  info: KojiBuild,
});

export const KojiEvent = z.discriminatedUnion(
  'topic',
  [
    z.strictObject({ topic: z.literal('buildsys.tag'), body: TagBody }),
    z.strictObject({ topic: z.literal('buildsys.untag'), body: TagBody }),
    z.strictObject({ topic: z.literal('buildsys.build.state.change'), body: StateChangeBody }),
  ],
  { message: 'topic must be buildsys.tag, buildsys.untag or buildsys.build.state.change' },
);
export type KojiEvent = z.infer<typeof KojiEvent>;
