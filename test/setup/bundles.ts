import { ensureBundles } from '../../bin/bundle.mjs';

/**
 * Builds the releng and releng-host bundles once before the test files run, so the many tests
 * that spawn bin/*.mjs at once do not each find them stale and rebuild them.
 */
export default async function buildBundles(): Promise<void> {
  await ensureBundles();
}
