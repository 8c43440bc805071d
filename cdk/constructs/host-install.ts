import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Aws, BundlingOutput, DockerImage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { buildSync, type Metafile } from 'esbuild';
import { mergeConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { HOST_INSTALL } from './host-documents.ts';
import { HOST_BUNDLE_FILE } from './host-paths.ts';

export interface HostInstallProps {
  readonly config: ReleaseConfig;
  /** The releng config overrides the hosts get as their releng.config.json. */
  readonly configOverrides: unknown;
  readonly instanceIds: readonly string[];
  /** Roles of hosts this stack created (imported hosts keep their own). */
  readonly hostRoles: readonly iam.IRole[];
  readonly commandLogs: logs.ILogGroup;
}

/** The host/ directory the bundle is built from. */
export const HOST_SOURCE_DIR = fileURLToPath(new URL('../../host', import.meta.url));

export { HOST_BUNDLE_FILE };

/**
 * Bundles the host/ entry with esbuild into one ESM file for Node.js 20 (the S3 asset the hosts
 * install, and what the local install puts under its root). Returns esbuild's metafile, whose
 * inputs are every source file the bundle holds.
 */
export function buildHostBundle(outfile: string): Metafile {
  const result = buildSync({
    stdin: {
      contents: "import { main } from './main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
      resolveDir: HOST_SOURCE_DIR,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    metafile: true,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return result.metafile!;
}

/**
 * The bundle asset, hashed by its output: host/ imports shared/ and node_modules, so a hash of
 * host/ alone would miss changes there (no upload, no association rerun).
 */
function hostBundle(scope: Construct): s3assets.Asset {
  return new s3assets.Asset(scope, 'HostBundle', {
    path: HOST_SOURCE_DIR,
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('unused-local-bundling-only'),
      outputType: BundlingOutput.SINGLE_FILE,
      local: {
        tryBundle(outputDir) {
          buildHostBundle(`${outputDir}/${HOST_BUNDLE_FILE}`);
          return true;
        },
      },
    },
  });
}

/** What a compose host on AWS needs whatever the overrides say (they may still change it). */
const AWS_HOST_DEFAULTS = { host: { requireMounts: true, secretSource: 'aws' } };

/**
 * The releng.config.json the stack's hosts get: the config overrides over the AWS host defaults
 * (the trees must be the EFS mounts; the signing key comes from Secrets Manager).
 */
export function hostConfigContent(configOverrides: unknown): string {
  return `${JSON.stringify(mergeConfig(AWS_HOST_DEFAULTS, configOverrides ?? {}), null, 2)}\n`;
}

/** The config asset, hashed by the content it writes, so a config change reaches the hosts. */
function hostConfig(scope: Construct, configOverrides: unknown): s3assets.Asset {
  const content = hostConfigContent(configOverrides);
  return new s3assets.Asset(scope, 'HostConfig', {
    path: fileURLToPath(new URL('.', import.meta.url)),
    assetHash: createHash('sha256').update(content).digest('hex'),
    assetHashType: AssetHashType.CUSTOM,
    bundling: {
      image: DockerImage.fromRegistry('unused-local-bundling-only'),
      outputType: BundlingOutput.SINGLE_FILE,
      local: {
        tryBundle(outputDir) {
          writeFileSync(`${outputDir}/releng.config.json`, content);
          return true;
        },
      },
    },
  });
}

/** Waits for cloud-init to finish where there is one (a new instance); a no-op elsewhere. */
const CLOUD_INIT_WAIT =
  'if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || true; fi';

/**
 * Puts releng-host on every compose host: an SSM document that downloads the bundled host/
 * entry and the stack's releng config from their S3 assets, installs them, imports the signing
 * key and runs `releng-host doctor`; and an association that runs it on every host, again
 * whenever the bundle or config changes, and makes CloudFormation wait for the first run (a
 * failed install fails the deploy).
 */
export class HostInstall extends Construct {
  readonly document: ssm.CfnDocument;
  readonly association: ssm.CfnAssociation;

  /** The install document and its association over every host. */
  constructor(scope: Construct, id: string, props: HostInstallProps) {
    super(scope, id);
    const bundle = hostBundle(this);
    const configAsset = hostConfig(this, props.configOverrides);
    const doc = new ssm.CfnDocument(this, 'Document', {
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: installDocumentContent(),
    });
    doc.addMetadata('releng:install', true);
    this.association = new ssm.CfnAssociation(this, 'Association', {
      name: doc.ref,
      targets: [{ key: 'InstanceIds', values: [...props.instanceIds] }],
      parameters: {
        bundleUrl: [bundle.httpUrl],
        configUrl: [configAsset.httpUrl],
      },
      maxConcurrency: '1',
      maxErrors: '0',
      applyOnlyAtCronInterval: false,
      waitForSuccessTimeoutSeconds: INSTALL_WAIT_SECONDS,
    });
    for (const principal of props.hostRoles) {
      principal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [bundle, configAsset].map(
            (a) => `arn:${Aws.PARTITION}:s3:::${a.s3BucketName}/${a.s3ObjectKey}`,
          ),
        }),
      );
      props.commandLogs.grantWrite(principal);
      principal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [
            `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${props.config.aws.signingKeySecret}-??????`,
          ],
        }),
      );
    }
    this.document = doc;
  }
}

/** How long CloudFormation waits for the first install on every host: all steps' timeouts. */
export const INSTALL_WAIT_SECONDS = 3600;

/**
 * Where the downloads land. Not `/var/lib/releng/download/…`: the document before this one saved
 * its bundle there as a FILE named `bundle`, and a download into `bundle/` would fail on it.
 */
export const INSTALL_DOWNLOADS = '/var/lib/releng/install';

/** Every script line runs under the host root `$R` (empty on AWS; see documentScript). */
const HOST_ROOT_LINES = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
  'R="${RELENG_HOST_ROOT:-}"',
  'set -euo pipefail',
];

/** `releng-host OP` with the installed config, the root under `$R`. */
const hostOperation = (operation: string) =>
  `"$R${HOST_INSTALL.bin}" ${operation} --root "\${R:-/}" --config "$R${HOST_INSTALL.config}"`;

/** The wrapper finds the bundle beside itself, so no root is written into it. */
const WRAPPER_LINES = ['#!/bin/sh', 'exec node "$(dirname "$0")/../lib/releng/releng-host.mjs" "$@"'];

export function installDocumentContent(): Record<string, unknown> {
  const urlPattern = '^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)+$';
  const download = (name: string, parameter: string) => ({
    action: 'aws:downloadContent',
    name,
    inputs: {
      sourceType: 'S3',
      sourceInfo: `{"path":"{{ ${parameter} }}"}`,
      // The trailing `/` makes it a directory: without it the object is saved as a FILE named `name`.
      destinationPath: `${INSTALL_DOWNLOADS}/${name}/`,
    },
  });
  return {
    schemaVersion: '2.2',
    description:
      'Install releng-host (the bundled host/ entry), Node.js, the releng config and the signing key',
    parameters: {
      bundleUrl: { type: 'String', description: 'S3 URL of releng-host.mjs', allowedPattern: urlPattern },
      configUrl: { type: 'String', description: 'S3 URL of releng.config.json', allowedPattern: urlPattern },
    },
    mainSteps: [
      download('bundle', 'bundleUrl'),
      download('config', 'configUrl'),
      {
        action: 'aws:runShellScript',
        name: 'install',
        inputs: {
          timeoutSeconds: '1800',
          runCommand: [
            ...HOST_ROOT_LINES,
            `trap 'rm -rf "$R${INSTALL_DOWNLOADS}" "$R/var/lib/releng/download"' EXIT`,
            // A new host's user data may still run dnf (toolchain, EFS): wait for it first.
            CLOUD_INIT_WAIT,
            'command -v node >/dev/null || dnf -y module install nodejs:20/common',
            `install -D -m 0644 "$R${INSTALL_DOWNLOADS}"/bundle/*.mjs "$R${HOST_INSTALL.bundle}"`,
            `install -D -m 0644 "$R${INSTALL_DOWNLOADS}"/config/*.json "$R${HOST_INSTALL.config}"`,
            `mkdir -p "$R${posix.dirname(HOST_INSTALL.bin)}"`,
            `printf '%s\\n' ${WRAPPER_LINES.map((l) => `'${l}'`).join(' ')} > "$R${HOST_INSTALL.bin}.new"`,
            `chmod 0755 "$R${HOST_INSTALL.bin}.new" && mv "$R${HOST_INSTALL.bin}.new" "$R${HOST_INSTALL.bin}"`,
            `"$R${HOST_INSTALL.bin}" --help >/dev/null`,
          ],
        },
      },
      {
        action: 'aws:runShellScript',
        name: 'signingKey',
        inputs: {
          timeoutSeconds: '600',
          runCommand: [...HOST_ROOT_LINES, hostOperation('install-signing-key')],
        },
      },
      {
        action: 'aws:runShellScript',
        name: 'doctor',
        inputs: {
          timeoutSeconds: '900',
          runCommand: [
            ...HOST_ROOT_LINES,
            // On a new instance the association can start before cloud-init has mounted the trees.
            CLOUD_INIT_WAIT,
            hostOperation('doctor'),
          ],
        },
      },
    ],
  };
}
