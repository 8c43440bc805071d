// Prebuilt esbuild bundles of the two entries, so a command starts without compiling TypeScript.
// A bundle is used only while every source file it was built from has the size and mtime its
// stamp recorded (a stat per file: a few ms); otherwise it is rebuilt first (esbuild, ~0.3 s).
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROJECT = fileURLToPath(new URL('../', import.meta.url));
/** Where the bundles live: inside the checkout (node_modules imports resolve from it), outside bin/. */
export const BUNDLE_DIR = join(PROJECT, '.build', 'bin');

/** The entry each command runs. */
export const ENTRIES = { releng: 'cli/main.ts', 'releng-host': 'host/main.ts' };

/** Files besides the bundled sources whose change must rebuild: the recipe and the compiler settings. */
const RECIPE = [fileURLToPath(import.meta.url), join(PROJECT, 'tsconfig.json')];

/** Kept this long after a newer build replaced them: a running command may still import a chunk. */
const OLD_BUILD_GRACE_MS = 7 * 24 * 3600 * 1000;

const stampFile = (name) => join(BUNDLE_DIR, `${name}.stamp.json`);

function factsOf(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? [stat.size, stat.mtimeMs] : null;
}

/** The bundle's entry file when it was built from the sources as they are now, else undefined. */
export function freshBundle(name) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile(name), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(stamp.inputs) || stamp.inputs.length === 0) return undefined;
  for (const [file, size, mtimeMs] of stamp.inputs) {
    const facts = factsOf(join(PROJECT, file));
    if (!facts || facts[0] !== size || facts[1] !== mtimeMs) return undefined;
  }
  const entry = join(BUNDLE_DIR, stamp.dir, `${name}.mjs`);
  return factsOf(entry) ? entry : undefined;
}

/**
 * Sources that build a path from their own location (`new URL('../x', import.meta.url)`) get
 * that location back: in a bundle, import.meta.url is the bundle's. Other uses of
 * import.meta.url (in strings, e.g. a Lambda banner) are left as they are.
 */
function ownUrlPlugin(outdir) {
  return {
    name: 'own-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const fromBundle = relative(outdir, args.path).split(sep).join('/');
        const own = `new URL(${JSON.stringify(fromBundle)}, import.meta.url)`;
        const contents = source.replaceAll(
          /new URL\(([^()]*?),\s*import\.meta\.url\)/g,
          (_, target) => `new URL(${target}, ${own})`,
        );
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Builds the bundle of one entry into a new directory and points its stamp at it. Packages stay
 * external (loaded from node_modules when imported); code splitting keeps what a command imports
 * lazily (aws-cdk-lib, the AWS SDK clients) out of the start-up path.
 */
export async function buildBundle(name) {
  const { build } = await import('esbuild');
  const dirName = `${name}-${Date.now().toString(36)}-${process.pid}`;
  const outdir = join(BUNDLE_DIR, dirName);
  const result = await build({
    entryPoints: { [name]: join(PROJECT, ENTRIES[name]) },
    bundle: true,
    splitting: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    metafile: true,
    logLevel: 'error',
    plugins: [ownUrlPlugin(outdir)],
  });
  const sources = Object.keys(result.metafile.inputs).map((input) => join(PROJECT, input));
  const inputs = [...RECIPE, ...sources].map((file) => [relative(PROJECT, file), ...factsOf(file)]);
  const temp = `${stampFile(name)}.${process.pid}`;
  writeFileSync(temp, JSON.stringify({ dir: dirName, inputs }));
  renameSync(temp, stampFile(name));
  removeOldBuilds(name, dirName);
  return join(outdir, `${name}.mjs`);
}

function removeOldBuilds(name, keep) {
  const now = Date.now();
  for (const entry of readdirSync(BUNDLE_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === keep || !entry.name.startsWith(`${name}-`)) continue;
    const path = join(BUNDLE_DIR, entry.name);
    if (now - statSync(path).mtimeMs > OLD_BUILD_GRACE_MS) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * The entry module of a command: its bundle (built first when missing or stale), or the
 * TypeScript source through tsx when no bundle can be built (esbuild absent), with a notice.
 */
export async function loadEntry(name) {
  const fresh = freshBundle(name);
  if (fresh) return import(pathToFileURL(fresh).href);
  let built;
  try {
    mkdirSync(BUNDLE_DIR, { recursive: true });
    built = await buildBundle(name);
  } catch (err) {
    process.stderr.write(
      `${name}: no prebuilt bundle (${err.message.split('\n')[0]}); running the sources through tsx\n`,
    );
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(join(PROJECT, ENTRIES[name])).href);
  }
  return import(pathToFileURL(built).href);
}

/** Builds every bundle that is missing or stale (vitest's globalSetup, `npm run setup`). */
export async function ensureBundles() {
  mkdirSync(BUNDLE_DIR, { recursive: true });
  for (const name of Object.keys(ENTRIES)) if (!freshBundle(name)) await buildBundle(name);
}

// `node bin/bundle.mjs`: build what is missing or stale (npm run setup does).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await ensureBundles();
