import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import type { HostOperation } from '../framework/operation.ts';
import { selectedRelease } from '../publish/release.ts';
import { repoSigner, signatureValid, signDetached } from '../repo/gpg.ts';
import { findRepoDirs } from '../repo/walk.ts';

export interface SignResult {
  tree: string;
  signed: string[];
  unchanged: string[];
}

/**
 * Signs every repo under `tree` (every dir with repodata/repomd.xml) with `keyId` from the
 * configured gpg home: a repomd.xml whose .asc already verifies is left alone, every other
 * one gets a fresh detached signature, verified before it is put in place. Exported for the
 * production publish and minor release, which sign their trees the same way.
 */
export async function signRepos(ctx: OperationContext, tree: string, keyId: string): Promise<SignResult> {
  const signer = await repoSigner(ctx, keyId);
  const repos = await findRepoDirs(tree);
  if (repos.length === 0) ctx.log(`no repos (repodata/repomd.xml) under ${tree}`);
  const signed: string[] = [];
  const unchanged: string[] = [];
  for (const rel of repos) {
    const repomd = join(tree, rel, 'repodata', 'repomd.xml');
    if (await signatureValid(ctx, signer.gpgHome, repomd, keyId)) {
      unchanged.push(rel);
      continue;
    }
    await signDetached(ctx, signer, repomd);
    signed.push(rel);
  }
  ctx.log(`signed ${signed.length} repomd.xml, ${unchanged.length} already signed, under ${tree}`);
  return { tree, signed, unchanged };
}

export const signReposOperation: HostOperation<'sign-repos'> = {
  name: 'sign-repos',
  trees: ['staging', 'production'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const which = ctx.options.tree ?? 'staging';
    const tree = which === 'production' ? paths.productionRelease : paths.stagingRelease;
    if (!existsSync(tree)) throw new HostOperationError(`sign-repos: ${which} tree ${tree} does not exist`);
    return { ...(await signRepos(ctx, tree, release.settings.signingKeyId)) };
  },
};
