import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, FileSystem, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_INSTALL } from '../../cdk/constructs/host-documents.ts';
import { HostInstall, installDocumentContent } from '../../cdk/constructs/host-install.ts';
import { exportSecretKey, generateSigningKey } from '../../cli/demo/rpm-tools.ts';
import { installLocalHost, LocalInstallError } from '../../cli/engine/local-install.ts';
import { secretFilePath } from '../../host/signing/secret-source.ts';
import { buildConfig } from '../../shared/config/load.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'host-install-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The install document as it was before destinationPath got its trailing `/`. */
function withoutTrailingSlash(document: Record<string, unknown>) {
  const doc = structuredClone(document) as { mainSteps: Array<{ inputs: Record<string, unknown> }> };
  for (const step of doc.mainSteps) {
    if (typeof step.inputs.destinationPath === 'string') {
      step.inputs.destinationPath = step.inputs.destinationPath.replace(/\/$/, '');
    }
  }
  return doc;
}

describe('the install document, run by the local agent into a host root', () => {
  it('installs a releng-host that runs, and the config, under the root', async () => {
    const root = join(scratch, 'fresh');
    const overrides = { stage: 'local-test' };
    const result = await installLocalHost({ root, configOverrides: overrides, lastStep: 'install' });
    expect(result.invocation?.status).toBe('Success');
    const help = spawnSync(join(root, HOST_INSTALL.bin), ['--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('usage: releng-host OPERATION');
    expect(JSON.parse(await readFile(join(root, HOST_INSTALL.config), 'utf8'))).toEqual(overrides);
    expect((await stat(join(root, HOST_INSTALL.bin))).mode & 0o777).toBe(0o755);
    // Nothing is left in the download directories for the next run's globs to trip over.
    expect(existsSync(join(root, 'var/lib/releng/install'))).toBe(false);
  });

  it('fails as on AWS when destinationPath has no trailing /: the bundle is saved AS a file and the glob finds nothing', async () => {
    const root = join(scratch, 'old-document');
    const error = await installLocalHost({
      root,
      document: withoutTrailingSlash(installDocumentContent()),
      lastStep: 'install',
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LocalInstallError);
    const { invocation } = error as LocalInstallError;
    expect(invocation.steps.map((s) => [s.name, s.status])).toEqual([
      ['bundle', 'Success'],
      ['config', 'Success'],
      ['install', 'Failed'],
    ]);
    expect(invocation.stderr).toMatch(
      /install: cannot stat '.*\/var\/lib\/releng\/install\/bundle\/\*\.mjs': Not a directory/,
    );
    expect(existsSync(join(root, HOST_INSTALL.bin))).toBe(false);
  });

  it('installs over what the old document left on a host: a FILE named …/download/bundle', async () => {
    const root = join(scratch, 'upgraded');
    await mkdir(join(root, 'var/lib/releng/download'), { recursive: true });
    await writeFile(join(root, 'var/lib/releng/download/bundle'), 'the old bundle, saved as a file\n');
    const result = await installLocalHost({ root, lastStep: 'install' });
    expect(result.invocation?.status).toBe('Success');
    expect(existsSync(join(root, 'var/lib/releng/download'))).toBe(false);
  });

  it('does not rebuild or rerun an install whose bundle, config and document did not change', async () => {
    const root = join(scratch, 'fresh');
    const began = Date.now();
    const again = await installLocalHost({
      root,
      configOverrides: { stage: 'local-test' },
      lastStep: 'install',
    });
    expect(again.bundleBuilt).toBe(false);
    expect(again.invocation).toBeUndefined();
    expect(Date.now() - began).toBeLessThan(2000);
    const changed = await installLocalHost({
      root,
      configOverrides: { stage: 'other' },
      lastStep: 'install',
    });
    expect(changed.invocation?.status).toBe('Success');
    expect(JSON.parse(await readFile(join(root, HOST_INSTALL.config), 'utf8'))).toEqual({ stage: 'other' });
  });

  it('imports the signing key from the local secret and passes doctor', async () => {
    const root = join(scratch, 'full');
    const key = await generateSigningKey(
      join(scratch, 'keygen'),
      'Install Test <install-test@rocky.invalid>',
    );
    // As the demo does: the armoured private key in the file that stands for the secret.
    const secret = await exportSecretKey(key, secretFilePath(root, buildConfig({}).aws.signingKeySecret));
    expect((await stat(secret)).mode & 0o777).toBe(0o600);
    const overrides = { majors: { '8': { signingKeyId: key.keyId }, '9': { signingKeyId: key.keyId } } };
    for (const tree of Object.values(buildConfig(overrides).mounts))
      await mkdir(join(root, tree), { recursive: true });
    const result = await installLocalHost({ root, configOverrides: overrides });
    expect(result.invocation?.steps.map((s) => [s.name, s.status])).toEqual([
      ['bundle', 'Success'],
      ['config', 'Success'],
      ['install', 'Success'],
      ['signingKey', 'Success'],
      ['doctor', 'Success'],
    ]);
    const gpgHome = join(root, buildConfig(overrides).signing.gpgHome);
    expect((await stat(gpgHome)).mode & 0o777).toBe(0o700);
    const listed = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], {
      env: { ...process.env, GNUPGHOME: gpgHome },
      encoding: 'utf8',
    });
    expect(listed).toContain(key.fingerprint);
    expect(result.invocation?.stdout).not.toContain('PRIVATE KEY');
  });
});

describe('the HostInstall construct', () => {
  /** Synthesizes the construct alone, with bundling, as `cdk synth` would. */
  function synthInstall(configOverrides: unknown) {
    const outdir = join(scratch, `cdk-${Math.random().toString(36).slice(2)}`);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Install', { env: { account: '123456789012', region: 'eu-west-1' } });
    const role = new iam.Role(stack, 'HostRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    });
    new HostInstall(stack, 'HostInstall', {
      config: buildConfig(configOverrides),
      configOverrides,
      instanceIds: ['i-0123456789abcdef0'],
      hostRoles: [role],
      commandLogs: new logs.LogGroup(stack, 'Logs'),
    });
    const json = Template.fromStack(stack).toJSON();
    const association = Object.values(json.Resources as Record<string, any>).find(
      (r) => r.Type === 'AWS::SSM::Association',
    );
    const hashOf = (parameter: string, ext: string) =>
      JSON.stringify(association.Properties.Parameters[parameter]).match(
        new RegExp(`([0-9a-f]{64})\\.${ext}`),
      )![1]!;
    return {
      outdir,
      association,
      bundleHash: hashOf('bundleUrl', 'mjs'),
      configHash: hashOf('configUrl', 'json'),
    };
  }

  let a: ReturnType<typeof synthInstall>;
  beforeAll(() => {
    a = synthInstall({ stage: 'one' });
  });

  it('gives the host config a new asset (S3 key) when the config overrides change', async () => {
    const b = synthInstall({ stage: 'two' });
    expect(a.configHash).not.toBe(b.configHash);
    expect(synthInstall({ stage: 'one' }).configHash).toBe(a.configHash);
    const staged = JSON.parse(await readFile(join(b.outdir, `asset.${b.configHash}.json`), 'utf8'));
    expect(staged).toEqual({ host: { requireMounts: true, secretSource: 'aws' }, stage: 'two' });
  });

  it('hashes the host bundle by its output, which holds shared/ and node_modules too', () => {
    const { outdir, bundleHash } = a;
    const file = join(outdir, `asset.${bundleHash}.mjs`);
    expect(readdirSync(outdir)).toContain(`asset.${bundleHash}.mjs`);
    expect(FileSystem.fingerprint(file)).toBe(bundleHash);
  });

  it('makes CloudFormation wait for the first install, and downloads into directories', () => {
    const { association } = a;
    expect(association.Properties.WaitForSuccessTimeoutSeconds).toBeGreaterThanOrEqual(1800);
    const downloads = (installDocumentContent().mainSteps as Array<{ action: string; inputs: any }>).filter(
      (s) => s.action === 'aws:downloadContent',
    );
    expect(downloads.map((s) => s.inputs.destinationPath)).toEqual([
      '/var/lib/releng/install/bundle/',
      '/var/lib/releng/install/config/',
    ]);
  });
});
