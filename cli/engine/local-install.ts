import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_BUNDLE_FILE, HOST_INSTALL } from '../../cdk/constructs/host-paths.ts';
import { type AgentInvocation, LocalAgent } from '../agent/local-agent.ts';
import { LocalS3 } from '../agent/local-s3.ts';

/** The bucket standing for the CDK assets bucket in the local S3 directory. */
export const LOCAL_ASSETS_BUCKET = 'releng-local-assets';

export interface LocalInstallOptions {
  /** The local root: the emulated host's `/` (holds mnt/koji, …; gets usr/local/bin/releng-host). */
  root: string;
  /** The install document's content. Default: the one in `template`, else the one HostInstall synthesizes. */
  document?: unknown;
  /** A synthesized template to take the install document from (the resource tagged `releng:install`). */
  template?: {
    Resources: Record<string, { Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  };
  /** The config overrides the host gets as its releng.config.json (the local session's). */
  configOverrides?: unknown;
  /** Run the document only up to and including this step (e.g. `install`, before any signing key exists). */
  lastStep?: string;
  /** Run the document even when bundle, config and document are those of the last successful install. */
  force?: boolean;
  /** The agent to run it with; default one over `root` with its S3 at `<root>/engine/s3`. */
  agent?: LocalAgent;
  onOutput?(event: { step: string; stream: 'stdout' | 'stderr'; text: string }): void;
}

export interface LocalInstallResult {
  /** The install command, as GetCommandInvocation reports it; undefined when skipped as unchanged. */
  invocation?: AgentInvocation;
  /** Whether the bundle was built this time (false: its inputs had not changed). */
  bundleBuilt: boolean;
  /** The installed entry, `<root>/usr/local/bin/releng-host`. */
  hostBin: string;
}

/** A failed install: names the step that failed and carries what it printed. */
export class LocalInstallError extends Error {
  constructor(readonly invocation: AgentInvocation) {
    const step = invocation.steps.find((s) => s.status !== 'Success' && s.status !== 'Pending');
    super(
      `host install ${invocation.status.toLowerCase()} at step ${step?.name ?? '?'} (exit ${invocation.responseCode}): ${(step?.stderr || invocation.stderr).trim().slice(-2000)}`,
    );
  }
}

/**
 * Installs releng-host into a local root exactly as the stack's association does on a compose
 * host: builds the host bundle with the function the HostBundle asset uses (skipped when none of
 * its inputs changed), puts bundle and config into the local S3 directory, and runs the install
 * document through the local SSM agent with RELENG_HOST_ROOT=root. Like State Manager, it does
 * not run again when bundle, config and document are those of the last successful run.
 * Throws LocalInstallError when a step fails.
 */
export async function installLocalHost(options: LocalInstallOptions): Promise<LocalInstallResult> {
  const root = resolve(options.root);
  const engineDir = join(root, 'engine');
  const s3 = new LocalS3(join(engineDir, 's3'));
  const { path: bundle, built } = await hostBundleFor(SHARED_BUNDLE_DIR);
  const bundleBytes = await readFile(bundle);
  const config = `${JSON.stringify(options.configOverrides ?? {}, null, 2)}\n`;
  const bundleKey = `${sha256(bundleBytes)}.mjs`;
  const configKey = `${sha256(config)}.json`;
  await putObject(s3.fileOf(LOCAL_ASSETS_BUCKET, bundleKey), bundleBytes);
  await putObject(s3.fileOf(LOCAL_ASSETS_BUCKET, configKey), config);

  const document = withLastStep(await installDocument(options), options.lastStep);
  const hostBin = join(root, HOST_INSTALL.bin);
  const stamp = join(engineDir, 'host-install.json');
  const fingerprint = sha256(JSON.stringify({ bundleKey, configKey, document }));
  if (!options.force && existsSync(hostBin) && (await readText(stamp)) === fingerprint) {
    return { bundleBuilt: built, hostBin };
  }
  const agent =
    options.agent ?? new LocalAgent({ hostRoot: root, s3Dir: s3.dir, env: withNodeOnPath(process.env) });
  const parameters = {
    bundleUrl: [LocalS3.urlOf(LOCAL_ASSETS_BUCKET, bundleKey)],
    configUrl: [LocalS3.urlOf(LOCAL_ASSETS_BUCKET, configKey)],
  };
  const started = agent.start(document, parameters, options.onOutput ? { onOutput: options.onOutput } : {});
  const invocation = await started.done;
  if (invocation.status !== 'Success') {
    await rm(stamp, { force: true });
    throw new LocalInstallError(invocation);
  }
  await writeFile(stamp, fingerprint);
  return { invocation, bundleBuilt: built, hostBin };
}

/**
 * The cdk/ module with the bundle recipe and the install document: it loads aws-cdk-lib and
 * esbuild, so only an install that builds the bundle or has no document loads it.
 */
const hostInstallModule = () => import('../../cdk/constructs/host-install.ts');

/** The install document: given, or found in the template, or the one HostInstall synthesizes. */
async function installDocument(options: LocalInstallOptions): Promise<unknown> {
  if (options.document) return options.document;
  if (options.template) {
    const found = Object.entries(options.template.Resources).filter(
      ([, r]) => r.Metadata?.['releng:install'],
    );
    if (found.length !== 1) {
      throw new Error(
        `the template holds ${found.length} install documents (resources tagged releng:install), not 1`,
      );
    }
    return found[0]![1].Properties?.Content;
  }
  return (await hostInstallModule()).installDocumentContent();
}

function withLastStep(document: unknown, lastStep: string | undefined): unknown {
  if (!lastStep) return document;
  const doc = document as { mainSteps: Array<{ name: string }> };
  const index = doc.mainSteps.findIndex((step) => step.name === lastStep);
  if (index < 0) {
    throw new Error(
      `the install document has no step ${JSON.stringify(lastStep)} (steps: ${doc.mainSteps.map((s) => s.name).join(', ')})`,
    );
  }
  return { ...doc, mainSteps: doc.mainSteps.slice(0, index + 1) };
}

const BUNDLE_RECIPE = fileURLToPath(new URL('../../cdk/constructs/host-install.ts', import.meta.url));
/**
 * One host bundle per checkout, shared by every local root: a fresh root (each demo, most
 * tests) reuses it instead of running esbuild again. Its content is what each root's S3 gets.
 */
const SHARED_BUNDLE_DIR = fileURLToPath(new URL('../../.build/host-install', import.meta.url));

interface BundleStamp {
  /** Every input esbuild read (absolute path) and the sha256 of its content. */
  inputs: Record<string, string>;
}

/**
 * The host bundle under `dir`, rebuilt only when one of the files it was built from changed
 * (esbuild's metafile lists them: host/, shared/ and node_modules sources).
 */
async function hostBundleFor(dir: string): Promise<{ path: string; built: boolean }> {
  const bundle = join(dir, HOST_BUNDLE_FILE);
  const stampFile = join(dir, 'inputs.json');
  const stamp = await readText(stampFile).then((text) =>
    text ? (JSON.parse(text) as BundleStamp) : undefined,
  );
  if (stamp && existsSync(bundle) && (await unchanged(stamp))) return { path: bundle, built: false };
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `build-${process.pid}.mjs`);
  const metafile = (await hostInstallModule()).buildHostBundle(temp);
  const inputs: Record<string, string> = {};
  // The bundle's own recipe (entry text, esbuild options) lives in host-install.ts.
  for (const input of [BUNDLE_RECIPE, ...Object.keys(metafile.inputs)]) {
    const path = resolve(input);
    if (existsSync(path)) inputs[path] = sha256(await readFile(path));
  }
  // Stamp gone first: a concurrent reader never pairs the new bundle with the old stamp's inputs.
  await rm(stampFile, { force: true });
  await rename(temp, bundle);
  await writeFile(`${stampFile}.${process.pid}`, JSON.stringify({ inputs } satisfies BundleStamp));
  await rename(`${stampFile}.${process.pid}`, stampFile);
  return { path: bundle, built: true };
}

async function unchanged(stamp: BundleStamp): Promise<boolean> {
  for (const [path, hash] of Object.entries(stamp.inputs)) {
    const content = await readFile(path).catch(() => undefined);
    if (!content || sha256(content) !== hash) return false;
  }
  return Object.keys(stamp.inputs).length > 0;
}

/** The install step runs `node` as a host would: the node running us stands for the host's. */
function withNodeOnPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: [dirname(process.execPath), env.PATH].filter(Boolean).join(delimiter) };
}

async function putObject(path: string, content: string | Buffer): Promise<void> {
  if (existsSync(path)) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.part`, content);
  await rename(`${path}.part`, path);
}

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
