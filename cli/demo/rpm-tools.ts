import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execFile } from '../../host/framework/exec.ts';
import { REGEX } from '../../shared/patterns.ts';

/**
 * Real RPMs and keys for the demo and the tests: rpmbuild for packages (noarch, native and
 * foreign arches via --target), gpg for a throwaway signing key, rpmsign to sign packages.
 * Nothing here is faked: dnf on the far end checks the signatures these make.
 */

export interface RpmSpec {
  name: string;
  version: string;
  release: string;
  /** `noarch`, or a binary arch; a foreign arch is built with `--target`. */
  arch: string;
  /** Files the package installs: absolute path -> content. Default: one file under /usr/share. */
  files?: Record<string, string>;
  requires?: string[];
  /** Capabilities beyond the package's own name (a soname, a virtual name). */
  provides?: string[];
  summary?: string;
  /** Also build `<name>-debuginfo` (files under /usr/lib/debug), as koji does for binary packages. */
  debuginfo?: boolean;
}

export interface BuiltRpm {
  /** Binary packages: the main one first, then the debuginfo one if asked for. */
  binaries: string[];
  /** The source RPM. */
  source: string;
}

export function nvr(spec: Pick<RpmSpec, 'name' | 'version' | 'release'>): string {
  return `${spec.name}-${spec.version}-${spec.release}`;
}

function checkSpec(spec: RpmSpec): void {
  const bad = (what: string, value: string) =>
    new Error(`rpm spec: ${what} ${JSON.stringify(value)} is invalid`);
  if (!REGEX.packageName.test(spec.name)) throw bad('name', spec.name);
  if (!REGEX.versionOrRelease.test(spec.version)) throw bad('version', spec.version);
  if (!REGEX.versionOrRelease.test(spec.release)) throw bad('release', spec.release);
  if (!REGEX.arch.test(spec.arch)) throw bad('arch', spec.arch);
  for (const path of Object.keys(spec.files ?? {})) {
    if (!/^\/[A-Za-z0-9._/+-]+$/.test(path) || path.includes('..')) throw bad('file path', path);
  }
  for (const [what, deps] of [
    ['requires', spec.requires],
    ['provides', spec.provides],
  ] as const) {
    for (const dep of deps ?? []) {
      if (!/^[A-Za-z0-9._+()-]+( [<>=]{1,2} [A-Za-z0-9._+~^:-]+)?$/.test(dep)) throw bad(what, dep);
    }
  }
}

function specText(spec: RpmSpec, sourceDir: string): string {
  const files = spec.files ?? { [`/usr/share/${spec.name}/README`]: `${nvr(spec)}\n` };
  const paths = Object.keys(files);
  const lines = [
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    `Release: ${spec.release}`,
    `Summary: ${spec.summary ?? `Demo package ${spec.name}`}`,
    'License: MIT',
    ...(spec.arch === 'noarch' ? ['BuildArch: noarch'] : []),
    ...(spec.requires ?? []).map((r) => `Requires: ${r}`),
    ...(spec.provides ?? []).map((p) => `Provides: ${p}`),
    // Content is prepared text, not compiled code: no stripping, no automatic debug package.
    '%global debug_package %{nil}',
    '%global __strip /bin/true',
    '%global _binaries_in_noarch_packages_terminate_build 0',
    '%description',
    `Demo package ${spec.name} built for the release pipeline tests.`,
  ];
  if (spec.debuginfo) {
    lines.push(
      '%package debuginfo',
      `Summary: Debug information for ${spec.name}`,
      '%description debuginfo',
      `Debug information for ${spec.name}.`,
    );
  }
  lines.push('%install');
  paths.forEach((path, i) => {
    lines.push(`mkdir -p %{buildroot}$(dirname ${path})`, `cp ${sourceDir}/file-${i} %{buildroot}${path}`);
  });
  const debugFile = `/usr/lib/debug/${spec.name}/${spec.name}.debug`;
  if (spec.debuginfo) {
    lines.push(
      `mkdir -p %{buildroot}/usr/lib/debug/${spec.name}`,
      `echo '${nvr(spec)} debug' > %{buildroot}${debugFile}`,
    );
  }
  lines.push('%files', ...paths);
  if (spec.debuginfo) lines.push('%files debuginfo', debugFile);
  return `${lines.join('\n')}\n`;
}

async function findRpms(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.rpm')) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** Builds one package (binary, optional debuginfo, source) with rpmbuild in `workDir`. */
export async function buildRpm(spec: RpmSpec, workDir: string): Promise<BuiltRpm> {
  checkSpec(spec);
  const top = join(workDir, `${nvr(spec)}.${spec.arch}`);
  const sources = join(top, 'files');
  await mkdir(sources, { recursive: true });
  const files = spec.files ?? { [`/usr/share/${spec.name}/README`]: `${nvr(spec)}\n` };
  await Promise.all(Object.values(files).map((content, i) => writeFile(join(sources, `file-${i}`), content)));
  const specPath = join(top, `${spec.name}.spec`);
  await writeFile(specPath, specText(spec, sources));
  const argv = ['rpmbuild', '--define', `_topdir ${top}`, '--quiet', '-ba', specPath];
  if (spec.arch !== 'noarch') argv.splice(1, 0, '--target', spec.arch);
  await execFile(argv);
  const built = await findRpms(join(top, 'RPMS'));
  const main = built.find((p) => p.endsWith(`/${nvr(spec)}.${spec.arch}.rpm`));
  if (!main) throw new Error(`rpmbuild made no ${nvr(spec)}.${spec.arch}.rpm (got ${built.join(', ')})`);
  const [source] = await findRpms(join(top, 'SRPMS'));
  if (!source) throw new Error(`rpmbuild made no source RPM for ${nvr(spec)}`);
  return { binaries: [main, ...built.filter((p) => p !== main)], source };
}

export interface SigningKey {
  gpgHome: string;
  /** Long (16 hex) key id. */
  keyId: string;
  fingerprint: string;
  userId: string;
}

const gpgEnv = (gpgHome: string): NodeJS.ProcessEnv => ({ ...process.env, GNUPGHOME: gpgHome });

/** A throwaway RSA signing key without passphrase in `gpgHome` (created with mode 700). */
export async function generateSigningKey(
  gpgHome: string,
  userId = 'Rocky Demo Release <releng-demo@rocky.invalid>',
): Promise<SigningKey> {
  await mkdir(gpgHome, { recursive: true });
  await chmod(gpgHome, 0o700);
  await execFile(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', userId, 'rsa3072', 'sign', '2y'], {
    env: gpgEnv(gpgHome),
  });
  const listing = await execFile(['gpg', '--batch', '--with-colons', '--list-secret-keys', userId], {
    env: gpgEnv(gpgHome),
  });
  const lines = listing.stdout.split('\n');
  const keyId = lines.find((l) => l.startsWith('sec:'))?.split(':')[4];
  const fingerprint = lines.find((l) => l.startsWith('fpr:'))?.split(':')[9];
  if (!keyId || !fingerprint) throw new Error(`gpg made no key for ${userId}: ${listing.stdout}`);
  return { gpgHome, keyId, fingerprint, userId };
}

/** Writes the ASCII-armoured public key, the file clients import (RPM-GPG-KEY-…). */
export async function exportPublicKey(key: SigningKey, path: string): Promise<string> {
  const result = await execFile(['gpg', '--batch', '--armor', '--export', key.keyId], {
    env: gpgEnv(key.gpgHome),
  });
  await writeFile(path, result.stdout);
  return path;
}

/**
 * Writes the ASCII-armoured PRIVATE key to `path` (0600, in 0700 directories): the local stand-in
 * for the signing-key secret in Secrets Manager, which install-signing-key imports from. The key
 * goes from gpg's stdout to the file only.
 */
export async function exportSecretKey(key: SigningKey, path: string): Promise<string> {
  const result = await execFile(['gpg', '--batch', '--armor', '--export-secret-keys', key.keyId], {
    env: gpgEnv(key.gpgHome),
  });
  if (!result.stdout.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) {
    throw new Error(`gpg exported no private key for ${key.keyId}`);
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, result.stdout, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

/** Signs RPMs in place with rpmsign (Debian's rpm macros expect gpg2, so gpg is named). */
export async function signRpms(key: SigningKey, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  await execFile(
    [
      'rpmsign',
      '--define',
      '__gpg /usr/bin/gpg',
      '--define',
      `_gpg_name ${key.keyId}`,
      '--define',
      `_gpg_path ${key.gpgHome}`,
      '--addsign',
      ...paths,
    ],
    { env: gpgEnv(key.gpgHome) },
  );
}
