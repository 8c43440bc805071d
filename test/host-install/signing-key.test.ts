import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { treeState } from '../host-staging/support.ts';
import {
  GPG_HOME,
  newKey,
  newRoot,
  printed,
  releng,
  SECRET_PATH,
  secretFingerprints,
  signingKeyFor,
  stopAgent,
} from './support.ts';

/**
 * install-signing-key with real gpg: the secret (here the local stand-in file) is imported into
 * the 0700 gpg home only when its keys are the configured ones; otherwise nothing is importable
 * afterwards. No run prints or logs a byte of the key.
 */
let work: string;
let keyA: Awaited<ReturnType<typeof newKey>>;
let keyB: Awaited<ReturnType<typeof newKey>>;
const roots: string[] = [];
const homes: string[] = [];

async function root(options: Parameters<typeof newRoot>[1]) {
  const made = await newRoot(work, options);
  roots.push(made.root);
  homes.push(join(made.root, GPG_HOME));
  return made;
}

const install = (r: { root: string; config: string }, ...extra: string[]) =>
  releng(['install-signing-key', '--root', r.root, '--config', r.config, ...extra, '--json']);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-signing-key-'));
  keyA = await newKey(join(work, 'key-a'), 'Release A <release-a@rocky.invalid>');
  keyB = await newKey(join(work, 'key-b'), 'Release B <release-b@rocky.invalid>');
  homes.push(keyA.gpgHome, keyB.gpgHome);
}, 60_000);

afterAll(async () => {
  for (const home of homes) await stopAgent(home);
  await rm(work, { recursive: true, force: true });
});

describe('install-signing-key', () => {
  it('imports the configured key into a new 0700 gpg home, and a rerun changes nothing', async () => {
    const r = await root({ secret: keyA.armour, overrides: signingKeyFor(keyA.keyId) });
    const home = join(r.root, GPG_HOME);
    const first = await install(r, '--major', '8');
    expect(first.result.error ?? '', first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.result).toMatchObject({ changed: true, majors: { 8: keyA.fingerprint }, source: 'file' });
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect(await secretFingerprints(home)).toEqual([keyA.fingerprint]);
    // The home can sign with it, as sign-repos will.
    await writeFile(join(work, 'repomd.xml'), '<repomd/>\n');
    await execFile(
      [
        'gpg',
        '--batch',
        '--yes',
        '--local-user',
        keyA.keyId,
        '--armor',
        '--detach-sign',
        join(work, 'repomd.xml'),
      ],
      { env: { ...process.env, GNUPGHOME: home } },
    );

    const before = await treeState(home);
    const again = await install(r, '--major', '8');
    expect(again.code, again.result.error).toBe(0);
    expect(again.result.changed).toBe(false);
    expect(await treeState(home)).toEqual(before);
  });

  it('puts an existing gpg home back to mode 0700', async () => {
    const r = await root({ secret: keyA.armour, overrides: signingKeyFor(keyA.keyId) });
    const home = join(r.root, GPG_HOME);
    await mkdir(home, { recursive: true });
    await chmod(home, 0o755);
    const run = await install(r, '--major', '8');
    expect(run.code, run.result.error).toBe(0);
    expect(run.result.homeMode).toBe('was 0755, set to 0700');
    expect((await stat(home)).mode & 0o777).toBe(0o700);
  });

  it.each([
    ['the full fingerprint', () => keyA.fingerprint],
    ['the short key id', () => keyA.fingerprint.slice(-8)],
    ['lower-case hex', () => keyA.keyId.toLowerCase()],
    ["the user id's email", () => 'release-a@rocky.invalid'],
  ])('accepts a signingKeyId given as %s, as gpg resolves it', async (_, id) => {
    const r = await root({ secret: keyA.armour, overrides: signingKeyFor(id()) });
    const run = await install(r, '--major', '8');
    expect(run.code, run.result.error).toBe(0);
    expect(run.result.majors).toEqual({ 8: keyA.fingerprint });
  });

  it('fails closed on a key of another fingerprint: nothing imported, no secret key in the home', async () => {
    const r = await root({ secret: keyB.armour, overrides: signingKeyFor(keyA.keyId) });
    const run = await install(r, '--major', '8');
    expect(run.code).toBe(1);
    expect(run.result.error).toContain(`holds ${keyB.fingerprint} (Release B <release-b@rocky.invalid>)`);
    expect(run.result.error).toContain(`which is not majors.8.signingKeyId ${keyA.keyId}: nothing imported`);
    expect(await secretFingerprints(join(r.root, GPG_HOME))).toEqual([]);
    // The check's scratch home is gone too.
    expect((await readdir(join(r.root, 'etc/releng'))).filter((f) => f.startsWith('.gnupg-check'))).toEqual(
      [],
    );
  });

  it('keeps the key a home holds when the secret turns into another one', async () => {
    const r = await root({ secret: keyA.armour, overrides: signingKeyFor(keyA.keyId) });
    expect((await install(r, '--major', '8')).code).toBe(0);
    await writeFile(join(r.root, SECRET_PATH), keyB.armour);
    const run = await install(r, '--major', '8');
    expect(run.code).toBe(1);
    expect(await secretFingerprints(join(r.root, GPG_HOME))).toEqual([keyA.fingerprint]);
  });

  it('checks every configured major unless --major names one', async () => {
    const onlyEight = await root({ secret: keyA.armour, overrides: signingKeyFor(keyA.keyId) });
    const run = await install(onlyEight);
    expect(run.code).toBe(1);
    expect(run.result.error).toContain('majors.9.signingKeyId 702D426D350D275D');
    expect(await secretFingerprints(join(onlyEight.root, GPG_HOME))).toEqual([]);

    const both = await root({
      secret: keyA.armour,
      overrides: { majors: { 8: { signingKeyId: keyA.keyId }, 9: { signingKeyId: keyA.fingerprint } } },
    });
    const all = await install(both);
    expect(all.code, all.result.error).toBe(0);
    expect(all.result.majors).toEqual({ 8: keyA.fingerprint, 9: keyA.fingerprint });
  });

  it('fails naming the secret and where it looked when the secret does not exist', async () => {
    const r = await root({ overrides: signingKeyFor(keyA.keyId) });
    const run = await install(r, '--major', '8');
    expect(run.code).toBe(1);
    expect(run.result.error).toBe(
      `install-signing-key: secret releng/signing-key does not exist: no file ${join(r.root, SECRET_PATH)}`,
    );
    expect(existsSync(join(r.root, GPG_HOME))).toBe(false);
  });

  it('refuses a secret that holds no private key, and a secret name that leaves the secrets dir', async () => {
    const publicOnly = await execFile(['gpg', '--batch', '--armor', '--export', keyA.fingerprint], {
      env: { ...process.env, GNUPGHOME: keyA.gpgHome },
    });
    const r = await root({ secret: publicOnly.stdout, overrides: signingKeyFor(keyA.keyId) });
    const run = await install(r, '--major', '8');
    expect(run.code).toBe(1);
    expect(run.result.error).toMatch(/holds no ASCII-armoured OpenPGP private key/);

    const outside = await root({
      secret: keyA.armour,
      overrides: { ...signingKeyFor(keyA.keyId), aws: { signingKeySecret: '../../gnupg/x' } },
    });
    const refused = await install(outside, '--major', '8');
    expect(refused.code).toBe(1);
    expect(refused.result.error).toMatch(/secret name "..\/..\/gnupg\/x" has an empty, \. or \.\. segment/);
  });

  it('prints its plan in a dry run and creates nothing', async () => {
    const r = await root({ secret: keyA.armour, overrides: signingKeyFor(keyA.keyId) });
    const run = await install(r, '--major', '8', '--dry-run');
    expect(run.code, run.result.error).toBe(0);
    expect(run.result.plan).toEqual([
      `read the signing key from ${join(r.root, SECRET_PATH)}`,
      `check that its secret keys include majors.8.signingKeyId ${keyA.keyId}`,
      `make ${join(r.root, GPG_HOME)} a 0700 directory`,
      `import the key into ${join(r.root, GPG_HOME)} unless it holds the same keys already`,
    ]);
    expect(existsSync(join(r.root, GPG_HOME))).toBe(false);
    expect(existsSync(join(r.root, 'var'))).toBe(false);
  });

  it('never wrote key material to stdout, stderr, logs or results (the scan finds it where it is)', async () => {
    const armourBody = (armour: string) =>
      armour
        .split('\n')
        .filter((l) => /^[A-Za-z0-9+/=]{60,}$/.test(l))
        .slice(3, 6);
    const needles = ['PRIVATE KEY BLOCK', ...armourBody(keyA.armour), ...armourBody(keyB.armour)];
    const leaks = (text: string) => needles.filter((n) => text.includes(n));
    expect(printed.length).toBeGreaterThan(50);
    expect(printed.flatMap(leaks)).toEqual([]);
    let scanned = 0;
    for (const r of roots) {
      for (const [path] of await treeState(r)) {
        const rel = path.slice(r.length + 1);
        const text = await readFile(path, 'latin1');
        if (rel === SECRET_PATH) {
          expect(leaks(text).length, 'the scan does find the key in the secret file').toBeGreaterThan(1);
          continue;
        }
        if (rel.startsWith(`${GPG_HOME}/`)) continue;
        scanned++;
        expect(leaks(text), rel).toEqual([]);
      }
    }
    expect(scanned, 'logs and result files were scanned').toBeGreaterThan(10);
  });
});
