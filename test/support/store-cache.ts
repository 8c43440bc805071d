import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPackageStore, type PackageStore } from '../../cli/demo/package-store.ts';

const DEMO_SOURCES = fileURLToPath(new URL('../../cli/demo/', import.meta.url));

/** A digest of the demo's sources: the store they build changes only when one of them does. */
async function storeKey(major: string): Promise<string> {
  const hash = createHash('sha256').update(`major ${major}\n`);
  for (const name of (await readdir(DEMO_SOURCES)).sort()) {
    hash.update(`${name}\0`).update(await readFile(join(DEMO_SOURCES, name)));
  }
  return hash.digest('hex').slice(0, 24);
}

/** Every regular file under `dir` holding `from`, rewritten to hold `to` instead. */
async function rewritePaths(dir: string, from: string, to: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const content = await readFile(file);
    if (!content.includes(from)) continue;
    await writeFile(file, content.toString('utf8').replaceAll(from, to));
  }
}

/**
 * The demo package store (signing key, RPMs built and signed, git repos, config) at `root`, as
 * createPackageStore makes it, but built once per version of the demo's sources and copied:
 * building it (an RSA key, a dozen rpmbuilds and signatures) costs seconds per test file. Every
 * copy shares that one signing key; a test that needs a second key makes its own.
 */
export async function cachedPackageStore(root: string, major = '8'): Promise<PackageStore> {
  const template = join(tmpdir(), `releng-test-store-${await storeKey(major)}`);
  let stored = await readFile(join(template, 'store.json'), 'utf8').catch(() => undefined);
  if (!stored) {
    const building = `${template}.building-${process.pid}`;
    await rm(building, { recursive: true, force: true });
    const store = await createPackageStore({ root: join(building, 'root'), major });
    await writeFile(join(building, 'store.json'), JSON.stringify(store));
    // Another worker may have finished first: its copy is as good as this one.
    await rename(building, template).catch(() => rm(building, { recursive: true, force: true }));
    stored = await readFile(join(template, 'store.json'), 'utf8');
  }
  const built = JSON.parse(stored) as PackageStore;
  await mkdir(root, { recursive: true });
  // gpg-agent's sockets are the template's agent's, not files to copy.
  await cp(join(template, 'root'), root, {
    recursive: true,
    preserveTimestamps: true,
    filter: (source) => !/\/S\.[^/]*$/.test(source),
  });
  await rewritePaths(root, built.root, root);
  return JSON.parse(stored.replaceAll(JSON.stringify(built.root).slice(1, -1), root)) as PackageStore;
}
