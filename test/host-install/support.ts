import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, type SigningKey } from '../../cli/demo/rpm-tools.ts';
import { execFile } from '../../host/framework/exec.ts';
import { main } from '../../host/main.ts';

/** Every stdout and stderr line any run printed, for the key-material scan. */
export const printed: string[] = [];

export interface HostRun {
  code: number;
  /** The last stdout line parsed (the result with --json). */
  result: Record<string, unknown> & { ok?: boolean; error?: string; plan?: string[] };
  stdout: string[];
  stderr: string;
}

/** `releng-host ARGV` in-process, as the SSM document runs it. */
export async function releng(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<HostRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env });
  printed.push(...stdout, ...stderr);
  let result = {};
  try {
    result = JSON.parse(stdout.at(-1) ?? '{}');
  } catch {
    // text mode
  }
  return { code, result, stdout, stderr: stderr.join('\n') };
}

const gpgEnv = (home: string) => ({ ...process.env, GNUPGHOME: home });

/** A fresh passphrase-less signing key in its own home, and its secret half armoured. */
export async function newKey(dir: string, userId: string): Promise<SigningKey & { armour: string }> {
  const key = await generateSigningKey(dir, userId);
  const exported = await execFile(
    [
      'gpg',
      '--batch',
      '--armor',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--export-secret-keys',
      key.fingerprint,
    ],
    { env: gpgEnv(dir) },
  );
  return { ...key, armour: exported.stdout };
}

/** The fingerprints of the secret keys in `home` (none when it does not exist). */
export async function secretFingerprints(home: string): Promise<string[]> {
  const listing = await execFile(['gpg', '--batch', '--with-colons', '--list-secret-keys'], {
    env: gpgEnv(home),
    okCodes: [0, 2],
  });
  const lines = listing.stdout.split('\n');
  return lines.flatMap((line, i) =>
    line.startsWith('sec:') && lines[i + 1]?.startsWith('fpr:') ? [lines[i + 1]!.split(':')[9]!] : [],
  );
}

export async function stopAgent(home: string): Promise<void> {
  await execFile(['gpgconf', '--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);
}

export const SECRET_PATH = 'etc/releng/secrets/releng/signing-key';
export const GPG_HOME = 'etc/releng/gnupg';

/** A host root with the secret file (when given) and a releng.config.json of `overrides`. */
export async function newRoot(
  parent: string,
  options: { secret?: string; overrides?: Record<string, unknown> },
): Promise<{ root: string; config: string }> {
  const root = await mkdtemp(join(parent ?? tmpdir(), 'root-'));
  if (options.secret !== undefined) {
    await mkdir(join(root, 'etc/releng/secrets/releng'), { recursive: true });
    await writeFile(join(root, SECRET_PATH), options.secret, { mode: 0o600 });
  }
  const config = join(root, 'releng.config.json');
  await writeFile(config, JSON.stringify(options.overrides ?? {}));
  return { root, config };
}

export const signingKeyFor = (keyId: string, major = '8') => ({
  majors: { [major]: { signingKeyId: keyId } },
});
