import type { PackageStore } from '../../cli/demo/package-store.ts';
import { cachedPackageStore as cachedStore } from '../../cli/demo/store-cache.ts';

/**
 * The demo package store at `root` as createPackageStore makes it (before tagUpdate), copied
 * from the template the demo itself uses (cli/demo/store-cache.ts): built once per version of
 * the demo's sources. Every copy shares that one signing key; a test that needs a second key
 * makes its own.
 */
export async function cachedPackageStore(root: string, major = '8'): Promise<PackageStore> {
  return (await cachedStore(root, { major, stage: 'initial' })).store;
}
