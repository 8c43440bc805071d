import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errnoCode, errorMessage } from '../../shared/errors.ts';
import type { SecretSource } from '../../shared/ports.ts';

/**
 * Where install-signing-key reads the armoured private signing key from. On AWS: Secrets
 * Manager (the host role may read `aws.signingKeySecret`). Locally: a file under the root that
 * stands in for the secret, `<root>/etc/releng/secrets/<secret name>` (a `/` in the name is a
 * directory), so the same step runs in the twin.
 */

/** The directory of local secret files under a host root. */
export function secretsDir(root: string): string {
  return join(root, 'etc', 'releng', 'secrets');
}

/** `<root>/etc/releng/secrets/releng/signing-key` for `releng/signing-key`; refuses `.`/`..`. */
export function secretFilePath(root: string, name: string): string {
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new Error(`secret name ${JSON.stringify(name)} has an empty, . or .. segment`);
  return join(secretsDir(root), ...segments);
}

/** The secret's value is the whole file (the armoured key as Secrets Manager would hold it). */
export class FileSecretSource implements SecretSource {
  constructor(private readonly root: string) {}

  where(name: string): string {
    return secretFilePath(this.root, name);
  }

  async getSecretString(name: string): Promise<string> {
    const path = secretFilePath(this.root, name);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') throw new Error(`secret ${name} does not exist: no file ${path}`);
      throw new Error(`secret ${name}: cannot read ${path}: ${code ?? errorMessage(err)}`);
    }
  }
}

/** Secrets Manager's GetSecretValue through the given client (the host role's credentials). */
export class AwsSecretSource implements SecretSource {
  constructor(private readonly client: SecretsManagerClient) {}

  where(name: string): string {
    return `Secrets Manager secret ${name}`;
  }

  async getSecretString(name: string): Promise<string> {
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    let value: { SecretString?: string; SecretBinary?: Uint8Array };
    try {
      value = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
    } catch (err) {
      const e = err as Error;
      if (e.name === 'ResourceNotFoundException')
        throw new Error(`secret ${name} does not exist in Secrets Manager`);
      throw new Error(`secret ${name}: GetSecretValue failed: ${e.name}: ${e.message}`);
    }
    if (value.SecretString !== undefined) return value.SecretString;
    if (value.SecretBinary !== undefined)
      throw new Error(
        `secret ${name} holds only SecretBinary; store the armoured key as SecretString (gpg --armor --export-secret-keys)`,
      );
    throw new Error(`secret ${name} has no value (neither SecretString nor SecretBinary)`);
  }
}

export type SecretSourceKind = 'file' | 'aws';

/** The source install-signing-key reads from: the file stand-in, or Secrets Manager in `region`. */
export async function openSecretSource(
  kind: SecretSourceKind,
  root: string,
  region?: string,
): Promise<SecretSource & { where(name: string): string }> {
  if (kind === 'file') return new FileSecretSource(root);
  // Loaded only on this path: a local run never pays for the SDK. Without a configured region
  // the SDK finds it in the environment or, on EC2, in the instance metadata.
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  return new AwsSecretSource(new SecretsManagerClient(region ? { region } : {}));
}
