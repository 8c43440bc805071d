import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { mergeConfig } from '../../shared/config/load.ts';
import { alive } from '../engine/file-mutex.ts';
import { type LocalApollo, startLocalApollo } from './apollo.ts';

/** Marks a root the demo made, so a rerun may clear it (and never a directory it did not make). */
export const MARKER = '.releng-demo';
/** The pid of the process serving the root's stand-in Apollo (see serveDemoErrataAgain). */
export const APOLLO_SERVER = '.releng-demo-apollo';

const standInUpdateinfo = (root: string) => join(root, 'mnt', 'koji', 'errata', 'updateinfo.xml');

/** The port of a stand-in Apollo URL (`http://127.0.0.1:PORT/api/v3/updateinfo`), else undefined. */
function standInPort(url: unknown): number | undefined {
  if (typeof url !== 'string') return undefined;
  const match = /^http:\/\/127\.0\.0\.1:([0-9]+)\/api\/v3\/updateinfo$/.exec(url);
  return match ? Number(match[1]) : undefined;
}

async function readJson(path: string): Promise<{ errata?: { apolloBaseUrl?: unknown } }> {
  return JSON.parse(await readFile(path, 'utf8')) as { errata?: { apolloBaseUrl?: unknown } };
}

/**
 * Serves the demo store's advisories from a local Apollo and points the root's config at it
 * (on the port it named before when that is free). It lives as long as the caller keeps it
 * open; the root records the serving pid, so a later command knows when nobody serves it.
 */
export async function serveDemoErrata(root: string): Promise<LocalApollo> {
  const configPath = join(root, 'releng.config.json');
  const current = await readJson(configPath);
  const port = standInPort(current.errata?.apolloBaseUrl);
  const apollo =
    (port ? await startLocalApollo(standInUpdateinfo(root), port).catch(() => undefined) : undefined) ??
    (await startLocalApollo(standInUpdateinfo(root)));
  if (apollo.baseUrl !== current.errata?.apolloBaseUrl) {
    const updated = mergeConfig(current, { errata: { apolloBaseUrl: apollo.baseUrl } });
    await writeFile(configPath, `${JSON.stringify(updated, null, 2)}\n`);
  }
  await writeFile(join(root, APOLLO_SERVER), `${process.pid}\n`);
  return apollo;
}

/**
 * Errata for a later command on a demo root (`releng compose` after `releng demo`): when the
 * root's config names the demo's stand-in Apollo and no live process serves it any more (the
 * demo that started it has exited), this command serves it while it runs. Anywhere else, and
 * while another process serves it, it does nothing: a stand-in a live process closed stays
 * closed. Returns what to close.
 */
export async function serveDemoErrataAgain(rootOption: string): Promise<() => Promise<void>> {
  const root = resolve(rootOption);
  const configPath = join(root, 'releng.config.json');
  const nothing = async () => {};
  if (!existsSync(join(root, MARKER)) || !existsSync(configPath) || !existsSync(standInUpdateinfo(root))) {
    return nothing;
  }
  const current = await readJson(configPath).catch(() => ({}) as { errata?: { apolloBaseUrl?: unknown } });
  if (standInPort(current.errata?.apolloBaseUrl) === undefined) return nothing;
  const server = Number((await readFile(join(root, APOLLO_SERVER), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(server) && server > 0 && alive(server)) return nothing;
  const apollo = await serveDemoErrata(root);
  return async () => {
    await apollo.close();
    await rm(join(root, APOLLO_SERVER), { force: true });
  };
}
