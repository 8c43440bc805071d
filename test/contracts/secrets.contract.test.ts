import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsSecretSource, FileSecretSource, secretFilePath } from '../../host/signing/secret-source.ts';
import type { SecretSource } from '../../shared/ports.ts';
import { clientConfig, describeMoto, useMoto } from '../support/moto.ts';

/**
 * The SecretSource port install-signing-key reads the signing key through: Secrets Manager as
 * moto speaks it, and the local file stand-in under the host root, with one body.
 */

const moto = useMoto();

const KEY =
  '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGN0ZXN0\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n';

interface SecretBackend {
  source: SecretSource;
  /** Stores `value` under `name`, as an operator would before the first deploy. */
  put(name: string, value: string): Promise<void>;
  cleanup(): Promise<void>;
}

function secretSourceContract(make: () => Promise<SecretBackend>) {
  let b: SecretBackend;
  beforeAll(async () => {
    b = await make();
    await b.put('releng/signing-key', KEY);
  });
  afterAll(() => b?.cleanup());

  it('returns the string of an existing secret unchanged', async () => {
    expect(await b.source.getSecretString('releng/signing-key')).toBe(KEY);
  });

  it('throws naming a secret that does not exist', async () => {
    await expect(b.source.getSecretString('releng/no-such-key')).rejects.toThrow('releng/no-such-key');
  });
}

describe('secret source on the local twin (files under the host root)', () =>
  secretSourceContract(async () => {
    const root = mkdtempSync(join(tmpdir(), 'releng-contract-secrets-'));
    return {
      source: new FileSecretSource(root),
      put: async (name, value) => {
        const path = secretFilePath(root, name);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, value, { mode: 0o600 });
      },
      cleanup: async () => rmSync(root, { recursive: true, force: true }),
    };
  }));

describeMoto(moto, 'Secrets Manager against moto', () => {
  let client: SecretsManagerClient;
  beforeAll(() => {
    client = new SecretsManagerClient(clientConfig(moto));
  });

  secretSourceContract(async () => ({
    source: new AwsSecretSource(client),
    put: async (name, value) => {
      await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    },
    cleanup: async () => {},
  }));

  // A binary OpenPGP key decoded as UTF-8 would be mangled: refused, naming the secret.
  it('refuses a binary-only secret, naming it', async () => {
    await client.send(
      new CreateSecretCommand({
        Name: 'releng/binary-key',
        SecretBinary: new Uint8Array([0x95, 0x01, 0xff, 0xfe]),
      }),
    );
    await expect(new AwsSecretSource(client).getSecretString('releng/binary-key')).rejects.toThrow(
      'releng/binary-key',
    );
  });
});
