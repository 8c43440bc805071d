import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { CommandError, execFile } from '../framework/exec.ts';

/** One OpenPGP key as `gpg --with-colons` lists it. */
export interface GpgKey {
  fingerprint: string;
  /** Long key id: the fingerprint's last 16 hex digits. */
  keyId: string;
  /** `sec` (its secret half is there) rather than `pub`. */
  secret: boolean;
  created: string;
  expires: string;
  subkeys: { fingerprint: string; created: string; expires: string }[];
  userIds: string[];
}

/** gpg escapes `:` and control characters in colon listings as `\xHH`. */
const decodeField = (field: string) =>
  field.replaceAll(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** Parses `gpg --with-colons` key listings (pub/sec, sub/ssb, fpr, uid records). */
export function parseColonListing(text: string): GpgKey[] {
  const keys: GpgKey[] = [];
  let current: { fingerprint: string } | undefined;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const type = f[0];
    if (type === 'pub' || type === 'sec') {
      const key: GpgKey = {
        fingerprint: '',
        keyId: f[4] ?? '',
        secret: type === 'sec',
        created: f[5] ?? '',
        expires: f[6] ?? '',
        subkeys: [],
        userIds: [],
      };
      keys.push(key);
      current = key;
    } else if ((type === 'sub' || type === 'ssb') && keys.length) {
      const sub = { fingerprint: '', created: f[5] ?? '', expires: f[6] ?? '' };
      keys.at(-1)!.subkeys.push(sub);
      current = sub;
    } else if (type === 'fpr' && current && !current.fingerprint) {
      current.fingerprint = (f[9] ?? '').toUpperCase();
    } else if (type === 'uid' && keys.length) {
      keys.at(-1)!.userIds.push(decodeField(f[9] ?? ''));
    }
  }
  return keys;
}

/**
 * Whether `wanted` (a configured signingKeyId) names `key`, the way gpg resolves a key
 * specifier: hex is a fingerprint or a long/short key id, i.e. a suffix of the primary's or
 * a subkey's fingerprint; otherwise it is an email, matched against the user ids' addresses.
 */
export function keyMatches(key: GpgKey, wanted: string): boolean {
  if (/^[0-9A-Fa-f]{8,40}$/.test(wanted)) {
    const hex = wanted.toUpperCase();
    return [key.fingerprint, ...key.subkeys.map((s) => s.fingerprint)].some((fpr) => fpr.endsWith(hex));
  }
  const email = wanted.toLowerCase();
  return key.userIds.some((uid) => (/<([^>]*)>/.exec(uid)?.[1] ?? uid).toLowerCase() === email);
}

/** What identifies a key's content: a key imported again with the same shape changes nothing. */
export function keyShape(key: GpgKey): string {
  const subs = key.subkeys.map((s) => `${s.fingerprint}/${s.created}/${s.expires}`).sort();
  return JSON.stringify([key.fingerprint, key.created, key.expires, subs, [...key.userIds].sort()]);
}

/** Removes anything armoured (keys, signatures) from text that may be shown or logged. */
export function redactKeyMaterial(text: string): string {
  return text.replaceAll(
    /-----BEGIN PGP [A-Z ]+-----[\s\S]*?(-----END PGP [A-Z ]+-----|$)/g,
    '[armoured block removed]',
  );
}

const gpgEnv = (home: string, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...(env ?? process.env),
  GNUPGHOME: home,
});

/** A gpg failure as one line with no key material in it. */
export function gpgFailure(what: string, err: unknown): Error {
  const detail =
    err instanceof CommandError
      ? `gpg exited ${err.result.code}: ${redactKeyMaterial(err.result.stderr).trim().split('\n').slice(-3).join(' | ')}`
      : redactKeyMaterial(errorMessage(err));
  return new Error(`${what}: ${detail}`);
}

/**
 * The keys an armoured block holds, listed without importing anything: `--import-options
 * show-only` in a fresh scratch home (no agent is started, no secret is stored), removed after.
 */
export async function keysInArmour(armour: string, scratchParent: string, env?: NodeJS.ProcessEnv) {
  const scratch = await mkdtemp(join(scratchParent, '.gnupg-check-'));
  try {
    const result = await execFile(
      [
        'gpg',
        '--batch',
        '--no-autostart',
        '--no-auto-check-trustdb',
        '--with-colons',
        '--import-options',
        'show-only',
        '--import',
      ],
      { env: gpgEnv(scratch, env), input: armour },
    );
    return parseColonListing(result.stdout);
  } catch (err) {
    throw gpgFailure('gpg cannot read the secret as an OpenPGP key', err);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The secret keys a gpg home holds (empty when it holds none). */
export async function secretKeysIn(gpgHome: string, env?: NodeJS.ProcessEnv): Promise<GpgKey[]> {
  try {
    const result = await execFile(
      ['gpg', '--batch', '--no-auto-check-trustdb', '--with-colons', '--list-secret-keys'],
      {
        env: gpgEnv(gpgHome, env),
        // 2: gpg lists nothing and says so when the home has no keyring yet.
        okCodes: [0, 2],
      },
    );
    return parseColonListing(result.stdout).filter((k) => k.secret);
  } catch (err) {
    throw gpgFailure(`cannot list the secret keys in ${gpgHome}`, err);
  }
}

/**
 * Stops the gpg-agent serving `gpgHome`, if one runs. The agent's socket is found by the home's
 * path, so an agent left from a home that was since moved or replaced would take the import and
 * fail it ("error sending to agent"); and no agent should outlive the operation that needed it.
 */
export async function stopAgent(gpgHome: string, env?: NodeJS.ProcessEnv): Promise<void> {
  await execFile(['gpgconf', '--kill', 'gpg-agent'], { env: gpgEnv(gpgHome, env) }).catch(() => undefined);
}

/** Imports the armoured keys into `gpgHome` from stdin: the key never touches a file of ours. */
export async function importKeys(armour: string, gpgHome: string, env?: NodeJS.ProcessEnv): Promise<void> {
  await stopAgent(gpgHome, env);
  try {
    await execFile(['gpg', '--batch', '--import'], { env: gpgEnv(gpgHome, env), input: armour });
  } catch (err) {
    throw gpgFailure(`gpg --import into ${gpgHome} failed`, err);
  } finally {
    await stopAgent(gpgHome, env);
  }
}

/** One line per key for reports: fingerprint and user ids. */
export const describeKey = (key: GpgKey) => `${key.fingerprint} (${key.userIds.join(', ') || 'no user id'})`;
