import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';

/**
 * The repomd signing key. On a compose host the gpg home (config signing.gpgHome under --root)
 * holds the armoured private key the stack put there from Secrets Manager; locally the demo
 * generates one there. A missing home, key or gpg is an error: signing is never skipped.
 */
export interface RepoSigner {
  gpgHome: string;
  keyId: string;
}

function gpgEnv(gpgHome: string): NodeJS.ProcessEnv {
  return { ...process.env, GNUPGHOME: gpgHome };
}

/** Resolves the configured key and proves it can sign (its secret half is in the home). */
export async function repoSigner(ctx: OperationContext, keyId: string): Promise<RepoSigner> {
  const gpgHome = join(ctx.root, ctx.config.signing.gpgHome);
  if (!existsSync(gpgHome)) throw new HostOperationError(`signing key home ${gpgHome} does not exist`);
  try {
    await ctx.read(['gpg', '--batch', '--with-colons', '--list-secret-keys', keyId], {
      env: gpgEnv(gpgHome),
    });
  } catch (err) {
    throw new HostOperationError(
      `signing key ${keyId} has no secret key in ${gpgHome}: ${errorMessage(err).split('\n')[0]}`,
    );
  }
  return { gpgHome, keyId };
}

/**
 * Writes `<file>.asc`, a detached ASCII-armoured signature: signed to a temp name, verified,
 * then renamed, so the published .asc is never half-written or unchecked.
 */
export async function signDetached(ctx: OperationContext, signer: RepoSigner, file: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.asc`);
  const argv = ['gpg', '--batch', '--yes', '--local-user', signer.keyId, '--armor', '--detach-sign'];
  try {
    await ctx.run([...argv, '--output', tmp, file], { env: gpgEnv(signer.gpgHome) });
    if (ctx.dryRun) return;
    if (!(await signatureValid(ctx, signer.gpgHome, file, signer.keyId, tmp)))
      throw new HostOperationError(
        `the signature just made for ${file} does not verify with key ${signer.keyId}`,
      );
    await rename(tmp, `${file}.asc`);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** True when `<file>.asc` is a good signature by `keyId` over `file`; never throws on a bad one. */
export async function signatureValid(
  ctx: OperationContext,
  gpgHome: string,
  file: string,
  keyId: string,
  signature = `${file}.asc`,
): Promise<boolean> {
  if (!existsSync(signature)) return false;
  try {
    const result = await ctx.read(['gpg', '--batch', '--status-fd', '1', '--verify', signature, file], {
      env: gpgEnv(gpgHome),
    });
    const good = /^\[GNUPG:\] VALIDSIG ([A-F0-9]+) .* ([A-F0-9]+)$/m.exec(result.stdout);
    const wanted = keyId.toUpperCase();
    return !!good && (good[1]!.endsWith(wanted) || good[2]!.endsWith(wanted));
  } catch {
    return false;
  }
}
