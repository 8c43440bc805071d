import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { HostOperationError } from '../framework/context.ts';
import type { HostOperation } from '../framework/operation.ts';
import { signingKeyIds } from '../signing/configured.ts';
import {
  describeKey,
  type GpgKey,
  importKeys,
  keyMatches,
  keyShape,
  keysInArmour,
  secretKeysIn,
} from '../signing/keys.ts';
import { openSecretSource, type SecretSourceKind } from '../signing/secret-source.ts';

/**
 * install-signing-key: reads the armoured private signing key from its secret (a file under the
 * root, or Secrets Manager), lists what it holds without importing it, and imports it into the
 * 0700 gpg home only when every checked major's signingKeyId names one of its secret keys, so a
 * wrong key never becomes usable (fail closed). Rerun with the same key it changes nothing.
 * The key travels to gpg on stdin only; nothing prints, logs or plans a byte of it.
 */

/** Creates the gpg home 0700, or puts an existing one back to 0700; says what it found. */
async function privateHome(gpgHome: string): Promise<string> {
  if (!existsSync(gpgHome)) {
    await mkdir(gpgHome, { recursive: true, mode: 0o700 });
    await chmod(gpgHome, 0o700); // mkdir's mode is masked by the umask
    return 'created 0700';
  }
  const mode = (await stat(gpgHome)).mode & 0o777;
  if (mode === 0o700) return '0700';
  await chmod(gpgHome, 0o700);
  return `was 0${mode.toString(8)}, set to 0700`;
}

function checkMatches(
  secretName: string,
  keys: GpgKey[],
  wanted: { major: string; keyId: string }[],
): Record<string, string> {
  const found = keys.map(describeKey).join('; ') || 'no secret key';
  const majors: Record<string, string> = {};
  const unmatched: string[] = [];
  for (const { major, keyId } of wanted) {
    const key = keys.find((k) => keyMatches(k, keyId));
    if (key) majors[major] = key.fingerprint;
    else unmatched.push(`majors.${major}.signingKeyId ${keyId}`);
  }
  if (unmatched.length)
    throw new HostOperationError(
      `signing key secret ${secretName} holds ${found}, which is not ${unmatched.join(', ')}: nothing imported`,
    );
  return majors;
}

export const installSigningKey: HostOperation<'install-signing-key'> = {
  name: 'install-signing-key',
  trees: [],
  async run(ctx) {
    const secretName = ctx.config.aws.signingKeySecret;
    const kind: SecretSourceKind = ctx.options['secret-source'] ?? ctx.config.host.secretSource;
    const gpgHome = join(ctx.root, ctx.config.signing.gpgHome);
    const wanted = signingKeyIds(ctx.config, ctx.options.major);
    let from: string;
    let source: Awaited<ReturnType<typeof openSecretSource>>;
    try {
      source = await openSecretSource(kind, ctx.root, ctx.config.aws.region);
      from = source.where(secretName);
    } catch (err) {
      throw new HostOperationError(`install-signing-key: ${errorMessage(err)}`);
    }
    const checks = wanted.map((w) => `majors.${w.major}.signingKeyId ${w.keyId}`).join(', ');
    const summary = { secret: secretName, source: kind, from, gpgHome };
    if (ctx.dryRun) {
      for (const step of [
        `read the signing key from ${summary.from}`,
        `check that its secret keys include ${checks}`,
        `make ${gpgHome} a 0700 directory`,
        `import the key into ${gpgHome} unless it holds the same keys already`,
      ])
        await ctx.step(step, async () => undefined);
      return { ...summary, majors: Object.fromEntries(wanted.map((w) => [w.major, w.keyId])) };
    }

    ctx.log(`read the signing key from ${summary.from}`);
    let armour: string;
    try {
      armour = await source.getSecretString(secretName);
    } catch (err) {
      throw new HostOperationError(`install-signing-key: ${errorMessage(err)}`);
    }
    if (!armour.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----'))
      throw new HostOperationError(
        `signing key secret ${secretName} (${summary.from}) holds no ASCII-armoured OpenPGP private key`,
      );
    const keys = (
      await keysInArmour(armour, tmpdir(), ctx.env).catch((err: Error) => {
        throw new HostOperationError(`signing key secret ${secretName}: ${err.message}`);
      })
    ).filter((k) => k.secret);
    ctx.log(`the secret holds ${keys.map(describeKey).join('; ') || 'no secret key'}`);
    const majors = checkMatches(secretName, keys, wanted);

    const homeMode = await privateHome(gpgHome);
    ctx.log(`gpg home ${gpgHome}: ${homeMode}`);
    const present = new Map((await secretKeysIn(gpgHome, ctx.env)).map((k) => [k.fingerprint, keyShape(k)]));
    const changed = keys.some((k) => present.get(k.fingerprint) !== keyShape(k));
    if (changed)
      await ctx.step(`import ${keys.map((k) => k.fingerprint).join(', ')} into ${gpgHome}`, () =>
        importKeys(armour, gpgHome, ctx.env).catch((err: Error) => {
          throw new HostOperationError(err.message);
        }),
      );
    else ctx.log(`${gpgHome} holds these keys already: nothing to import`);

    const after = await secretKeysIn(gpgHome, ctx.env);
    const missing = Object.values(majors).filter((fpr) => !after.some((k) => k.fingerprint === fpr));
    if (missing.length)
      throw new HostOperationError(`after the import ${gpgHome} has no secret key ${missing.join(', ')}`);
    return {
      ...summary,
      homeMode,
      keys: keys.map((k) => ({ fingerprint: k.fingerprint, userIds: k.userIds })),
      majors,
      changed,
    };
  },
};
