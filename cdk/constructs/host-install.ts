import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Aws, BundlingOutput, DockerImage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { HOST_INSTALL } from './host-documents.ts';

export interface HostInstallProps {
  readonly config: ReleaseConfig;
  /** The releng config overrides the hosts get as their releng.config.json. */
  readonly configOverrides: unknown;
  readonly instanceIds: readonly string[];
  /** Roles of hosts this stack created (imported hosts keep their own). */
  readonly hostRoles: readonly iam.IRole[];
  readonly commandLogs: logs.ILogGroup;
}

/** The host/ entry bundled by esbuild into one ESM file: the S3 asset the hosts install. */
function hostBundle(scope: Construct): s3assets.Asset {
  const hostDir = fileURLToPath(new URL('../../host', import.meta.url));
  return new s3assets.Asset(scope, 'HostBundle', {
    path: hostDir,
    bundling: {
      image: DockerImage.fromRegistry('unused-local-bundling-only'),
      outputType: BundlingOutput.SINGLE_FILE,
      local: {
        tryBundle(outputDir) {
          buildSync({
            stdin: {
              contents:
                "import { main } from './main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
              resolveDir: hostDir,
              loader: 'ts',
            },
            bundle: true,
            platform: 'node',
            format: 'esm',
            target: 'node20',
            outfile: `${outputDir}/releng-host.mjs`,
            banner: {
              js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
            },
            logLevel: 'error',
          });
          return true;
        },
      },
    },
  });
}

/**
 * Puts releng-host on every compose host: an SSM document that downloads the bundled host/
 * entry and the stack's releng config from their S3 assets and installs them, and an
 * association that runs it on every host and again whenever the bundle or config changes.
 */
export class HostInstall extends Construct {
  readonly document: ssm.CfnDocument;
  readonly association: ssm.CfnAssociation;

  /** The install document and its association over every host. */
  constructor(scope: Construct, id: string, props: HostInstallProps) {
    super(scope, id);
    const bundle = hostBundle(this);
    const configAsset = new s3assets.Asset(this, 'HostConfig', {
      path: fileURLToPath(new URL('.', import.meta.url)),
      bundling: {
        image: DockerImage.fromRegistry('unused-local-bundling-only'),
        outputType: BundlingOutput.SINGLE_FILE,
        local: {
          tryBundle(outputDir) {
            writeJson(`${outputDir}/releng.config.json`, props.configOverrides);
            return true;
          },
        },
      },
    });
    const doc = new ssm.CfnDocument(this, 'Document', {
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: installDocumentContent(),
    });
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

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value ?? {}, null, 2)}\n`);
}

export function installDocumentContent(): Record<string, unknown> {
  const urlPattern = '^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)+$';
  return {
    schemaVersion: '2.2',
    description: 'Install releng-host (the bundled host/ entry), Node.js and the releng config',
    parameters: {
      bundleUrl: { type: 'String', description: 'S3 URL of releng-host.mjs', allowedPattern: urlPattern },
      configUrl: { type: 'String', description: 'S3 URL of releng.config.json', allowedPattern: urlPattern },
    },
    mainSteps: [
      {
        action: 'aws:downloadContent',
        name: 'bundle',
        inputs: {
          sourceType: 'S3',
          sourceInfo: '{"path":"{{ bundleUrl }}"}',
          destinationPath: '/var/lib/releng/download/bundle',
        },
      },
      {
        action: 'aws:downloadContent',
        name: 'config',
        inputs: {
          sourceType: 'S3',
          sourceInfo: '{"path":"{{ configUrl }}"}',
          destinationPath: '/var/lib/releng/download/config',
        },
      },
      {
        action: 'aws:runShellScript',
        name: 'install',
        inputs: {
          timeoutSeconds: '1800',
          runCommand: [
            'set -euo pipefail',
            'command -v node >/dev/null || dnf -y module install nodejs:20/common',
            `install -D -m 0644 /var/lib/releng/download/bundle/*.mjs ${HOST_INSTALL.bundle}`,
            `install -D -m 0644 /var/lib/releng/download/config/*.json ${HOST_INSTALL.config}`,
            `printf '#!/bin/sh\\nexec node ${HOST_INSTALL.bundle} "$@"\\n' > ${HOST_INSTALL.bin}.new`,
            `chmod 0755 ${HOST_INSTALL.bin}.new && mv ${HOST_INSTALL.bin}.new ${HOST_INSTALL.bin}`,
            'rm -rf /var/lib/releng/download',
            `${HOST_INSTALL.bin} --help >/dev/null`,
          ],
        },
      },
    ],
  };
}
