import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseComposeId } from '../../shared/compose-id.ts';
import { errorMessage } from '../../shared/errors.ts';
import { latestLinkName } from '../../shared/release.ts';
import {
  composeIdBase,
  createComposeDir,
  existingCompose,
  listDir,
  nextFreeComposeId,
} from '../compose/compose-dir.ts';
import { checkoutSource, type SourceName, sourceDirs } from '../compose/git-sources.ts';
import { composeLocally } from '../compose/local-engine.ts';
import { makeLocalIsos } from '../compose/local-isos.ts';
import { isFinished, pungiArgv, pungiAvailable, readComposeStatus } from '../compose/pungi.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { replaceSymlink, writeFileAtomic } from '../framework/fsutil.ts';
import type { HostOperation } from '../framework/operation.ts';
import { lockOwner, selectedRelease } from '../publish/release.ts';
import { withLaneLock } from '../repo/lane-lock.ts';

const LANE_LOCK_TTL = 48 * 3600;

function composeOptions(ctx: OperationContext<'compose'>) {
  const { release, paths } = selectedRelease(ctx);
  const name = ctx.options.compose;
  const settings = release.settings.composes[name];
  if (!settings)
    throw new HostOperationError(
      `compose ${JSON.stringify(name)} is not one of ${Object.keys(release.settings.composes).join(', ')}`,
    );
  const kind = ctx.options.kind;
  const pungiConfig = settings.pungiConfig[kind];
  if (!pungiConfig) throw new HostOperationError(`compose ${name} has no ${kind} pungi config`);
  const wanted = ctx.options.engine ?? 'auto';
  // The context carries the environment its commands run with (main's deps.env).
  const hasPungi = pungiAvailable(ctx.env);
  if (wanted === 'pungi' && !hasPungi)
    throw new HostOperationError('--engine pungi: pungi-koji is not on PATH');
  const engine: 'pungi' | 'local' = wanted === 'auto' ? (hasPungi ? 'pungi' : 'local') : wanted;
  return {
    release,
    paths,
    name,
    kind,
    pungiConfig,
    engine,
    resume: ctx.options.resume,
  };
}

type Options = ReturnType<typeof composeOptions>;

/** The short name of a compose dir (`Rocky-devel` of `Rocky-devel-8-updates-…`), if it is one. */
function composeShortOf(name: string): string | undefined {
  try {
    return parseComposeId(name).short;
  } catch {
    return undefined;
  }
}

/** Runs pungi-koji and returns the compose dir it made (or resumed). */
async function composeWithPungi(
  ctx: OperationContext,
  o: Options,
  pungiDir: string,
): Promise<string | undefined> {
  const composeRoot = o.paths.composeRoot;
  const resumeDir = o.resume ? await existingCompose(composeRoot, o.resume, o.name) : undefined;
  const before = new Set(await listDir(composeRoot));
  const argv = pungiArgv({
    kind: o.kind,
    configFile: join(pungiDir, o.pungiConfig),
    composeRoot,
    revision: o.release.revision,
    resumeDir,
  });
  let failure: Error | undefined;
  await ctx.run(argv).catch((err: Error) => {
    failure = err;
  });
  if (ctx.dryRun) return undefined;
  const made =
    resumeDir ??
    (await listDir(composeRoot))
      .filter((n) => !before.has(n) && composeShortOf(n) === o.name)
      .map((n) => join(composeRoot, n))[0];
  if (!made)
    throw new HostOperationError(
      `pungi-koji made no compose dir under ${composeRoot}: ${failure?.message ?? 'no output'}`,
    );
  return made;
}

async function composeWithLocalEngine(ctx: OperationContext, o: Options, dirs: Record<SourceName, string>) {
  ctx.log('local engine: composing from the local package store with createrepo_c; pungi-koji is not used');
  const base = composeIdBase(o.name, o.kind, o.release, ctx.clock.now());
  if (ctx.dryRun) {
    const id = o.resume ?? (await nextFreeComposeId(o.paths.composeRoot, base));
    ctx.plan.push(`compose ${id} from ${o.paths.koji} with the local engine`);
    return undefined;
  }
  const { composeId, composeDir } = o.resume
    ? { composeId: o.resume, composeDir: await existingCompose(o.paths.composeRoot, o.resume, o.name) }
    : await createComposeDir(o.paths.composeRoot, base);
  if (o.resume) await writeFileAtomic(join(composeDir, 'STATUS'), 'STARTED\n');
  try {
    const result = await composeLocally(ctx, {
      settings: o.release.settings,
      release: o.release,
      composeName: o.name,
      composeId,
      composeDir,
      kojiDir: o.paths.koji,
      pungiDir: dirs.pungi,
      compsDir: dirs.comps,
      moduleMetadataDir: dirs.moduleMetadata,
    });
    // pungi's createiso runs for produce composes only, on the compose that has BaseOS.
    const isos =
      o.kind === 'produce' && result.variants.includes('BaseOS')
        ? await makeLocalIsos(ctx, {
            composeDir,
            release: o.release,
            composeVariants: o.release.settings.composes[o.name]!.variants,
            stamp: Math.floor(ctx.clock.now().getTime() / 1000),
          })
        : [];
    if (isos.length) ctx.log(`local engine: made ${isos.length} small ISO image(s) with xorriso, not pungi`);
    await writeFileAtomic(join(composeDir, 'STATUS'), 'FINISHED\n');
    return { composeDir, ...result, isos };
  } catch (err) {
    await writeFileAtomic(join(composeDir, 'STATUS'), 'DOOMED\n');
    ctx.log(`compose ${composeId} is DOOMED: ${errorMessage(err)}`);
    return { composeDir, variants: [], packages: 0, isos: [] as string[] };
  }
}

/** The resumed compose's dir when it already finished: resuming it again changes nothing. */
async function finishedComposeDir(o: Options): Promise<string | undefined> {
  const dir = await existingCompose(o.paths.composeRoot, o.resume!, o.name);
  return isFinished(await readComposeStatus(dir)) ? dir : undefined;
}

async function runCompose(ctx: OperationContext, o: Options): Promise<Record<string, unknown>> {
  const settings = o.release.settings;
  const dirs = sourceDirs(ctx.root, o.release.major, o.paths.moduleMetadata);
  const sources: Record<string, { url: string; ref: string; commit?: string }> = {};
  const checkoutAll = async () => {
    for (const name of ['pungi', 'comps', 'moduleMetadata'] as const) {
      const commit = await checkoutSource(ctx, name, settings.git[name], dirs[name]);
      sources[name] = { ...settings.git[name], commit };
    }
  };
  // Composes of other lanes of this major share the checkouts: one refreshes them at a time.
  const gitLock = `git:${o.release.major}`;
  if (ctx.dryRun) await checkoutAll();
  else {
    await ctx.locks.acquireWaiting(gitLock, lockOwner(ctx), 3600, 30 * 60_000);
    try {
      await checkoutAll();
    } finally {
      await ctx.locks.release(gitLock, lockOwner(ctx));
    }
  }
  const finishedResume = o.resume ? await finishedComposeDir(o) : undefined;
  if (finishedResume) ctx.log(`${o.resume} already FINISHED: nothing to resume`);
  const local =
    o.engine === 'local' && !finishedResume ? await composeWithLocalEngine(ctx, o, dirs) : undefined;
  const composeDir =
    finishedResume ?? (o.engine === 'pungi' ? await composeWithPungi(ctx, o, dirs.pungi) : local?.composeDir);
  const link = join(o.paths.composeRoot, latestLinkName(o.name, o.release.major));
  const summary = { engine: o.engine, compose: o.name, kind: o.kind, sources, latestLink: link };
  if (!composeDir) return summary; // dry run
  const composeId = composeDir.slice(o.paths.composeRoot.length + 1);
  // Every compose says which configuration built it.
  if (!finishedResume)
    await writeFileAtomic(
      join(composeDir, 'compose', 'metadata', 'releng.json'),
      `${JSON.stringify({ composeId, engine: o.engine, kind: o.kind, pungiConfig: o.pungiConfig, sources }, null, 2)}\n`,
    );
  const status = await readComposeStatus(composeDir);
  if (!isFinished(status)) {
    const previous = await readlink(link).catch(() => 'nothing');
    throw new HostOperationError(
      `compose ${composeId} ended ${status ?? 'without a STATUS'}; ${latestLinkName(o.name, o.release.major)} still points at ${previous}`,
    );
  }
  if ((await readlink(link).catch(() => undefined)) !== composeId)
    await ctx.step(`point ${link} at ${composeId} (new link renamed over the old)`, () =>
      replaceSymlink(composeId, link),
    );
  return {
    ...summary,
    composeId,
    composeDir,
    status,
    variants: local?.variants,
    packages: local?.packages,
    isos: local?.isos,
  };
}

/** compose: pungi-koji on a compose host, the local engine elsewhere; then the latest- link. */
export const compose: HostOperation<'compose'> = {
  name: 'compose',
  trees: ['koji', 'compose'],
  async run(ctx) {
    const o = composeOptions(ctx);
    if (o.resume) await existingCompose(o.paths.composeRoot, o.resume, o.name);
    return withLaneLock(ctx, { major: o.release.major, compose: o.name }, LANE_LOCK_TTL, () =>
      runCompose(ctx, o),
    );
  },
};
