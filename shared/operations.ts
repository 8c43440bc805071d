import { COMPOSE_KINDS, SECRET_SOURCES } from './config/schema.ts';
import { RelengError, type RelengErrorOptions } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { PATTERNS, type PatternName } from './patterns.ts';

/**
 * The catalogue of compose-host operations: their names and parameters. host/ parses its
 * command line from it, cdk/ derives the SSM Command documents (parameter names and
 * allowedPattern) from it, and the engine builds `releng-host` argv from it, so the three can
 * never disagree about what a parameter may hold.
 */
export type ParamKind =
  | { type: 'pattern'; pattern: PatternName }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'flag' };

export interface OperationParam {
  /** Command-line flag without dashes, kebab-case: `approved-digest`. */
  name: string;
  kind: ParamKind;
  required?: boolean;
  description: string;
}

export interface OperationSpec {
  name: string;
  description: string;
  params: readonly OperationParam[];
  /** Upper bound for one run; the SSM document's executionTimeout. */
  timeoutSeconds: number;
}

// Generic so the catalogue keeps each name, kind and `required` as a literal type: host/
// derives an operation's option types from them (a flag is boolean, a required value string).
const p = <const N extends string, const R extends boolean = false>(
  name: N,
  pattern: PatternName,
  description: string,
  required?: R,
) => ({ name, kind: { type: 'pattern', pattern } as const, required: (required ?? false) as R, description });
const oneOf = <const N extends string, const V extends readonly string[], const R extends boolean = false>(
  name: N,
  values: V,
  description: string,
  required?: R,
) => ({ name, kind: { type: 'enum', values } as const, required: (required ?? false) as R, description });
const flag = <const N extends string>(name: N, description: string) => ({
  name,
  kind: { type: 'flag' } as const,
  description,
});

/** Selects the release: which major, channel and (optionally) revision. */
const RELEASE = [
  p('major', 'major', 'major version, e.g. 8', true),
  oneOf('channel', ['stable', 'beta', 'lh'], 'release channel (default stable)'),
  p('revision', 'revision', 'overrides the channel revision, e.g. 8.10'),
] as const;

/** Selects a SIG's tree (`pub/sig/<major>/<sig>`) of the major instead of its release tree. */
const SIG_TREE = p(
  'sig',
  'identifier',
  "work on this SIG's tree pub/sig/<major>/<sig> (stable only), e.g. kernel",
);

/** Parameters every operation takes. `root` is `/` on a compose host. */
export const COMMON_PARAMS = [
  p('root', 'hostPath', 'directory the mount roots (mnt/koji, mnt/compose, …) live under', true),
  p('config', 'hostPath', 'releng.config.json to use instead of the defaults'),
  flag('dry-run', 'print the plan and change nothing'),
  flag('json', 'print one JSON result object as the last line'),
] as const satisfies readonly OperationParam[];

const HOUR = 3600;

/** The GA-day steps of ga-publish, in the order the minor-release machine runs them. */
export const GA_STEPS = ['close', 'link', 'open', 'vault'] as const;
export type GaStep = (typeof GA_STEPS)[number];

export const HOST_OPERATIONS = {
  compose: {
    name: 'compose',
    description: 'run pungi-koji (or the local engine) for one compose, then move its latest- link',
    params: [
      ...RELEASE,
      p('compose', 'identifier', 'compose short name: Rocky, Extras, Rocky-devel, Plus, NFV', true),
      oneOf('kind', COMPOSE_KINDS, 'produce (ISOs) or updates', true),
      oneOf('engine', ['auto', 'pungi', 'local'], 'pungi on a compose host, local elsewhere (default auto)'),
      p('resume', 'composeId', 'resume this failed compose in debug mode'),
    ],
    timeoutSeconds: 48 * HOUR,
  },
  'sync-to-staging': {
    name: 'sync-to-staging',
    description: "copy a compose's latest- tree into staging, packages before repodata",
    params: [...RELEASE, p('compose', 'identifier', 'compose short name', true)],
    timeoutSeconds: 8 * HOUR,
  },
  'sync-to-staging-sig': {
    name: 'sync-to-staging-sig',
    description: 'copy a SIG compose into the staging SIG tree, with delete',
    params: [
      p('major', 'major', 'major version', true),
      p('sig', 'identifier', 'SIG compose name: kernel, kmod', true),
    ],
    timeoutSeconds: 8 * HOUR,
  },
  'prep-staging': {
    name: 'prep-staging',
    description: 'createrepo --update over staging, re-add modules, restore .treeinfo',
    params: [...RELEASE],
    timeoutSeconds: 12 * HOUR,
  },
  'apply-updateinfo': {
    name: 'apply-updateinfo',
    description: 'put errata (updateinfo.xml) into every os repo from a file or Apollo',
    params: [
      ...RELEASE,
      p('updateinfo', 'absolutePath', 'updateinfo.xml to apply instead of fetching from Apollo'),
    ],
    timeoutSeconds: 2 * HOUR,
  },
  'sign-repos': {
    name: 'sign-repos',
    description: 'detach-sign every changed repomd.xml and verify each signature',
    params: [
      ...RELEASE,
      SIG_TREE,
      oneOf('tree', ['staging', 'production'], 'which tree to sign (default staging)'),
    ],
    timeoutSeconds: 2 * HOUR,
  },
  'verify-staging': {
    name: 'verify-staging',
    description: 'check signatures, checksums, comps, modules, errata; write the manifest and its digest',
    params: [...RELEASE, SIG_TREE],
    timeoutSeconds: 4 * HOUR,
  },
  'sync-to-prod': {
    name: 'sync-to-prod',
    description: 'publish approved staging to production in mirror-safe order, then hardlink',
    params: [
      ...RELEASE,
      SIG_TREE,
      p('approved-digest', 'sha256', 'the manifest digest the approval named', true),
      p('allow-shrink', 'reason', 'publish even when it deletes or shrinks more than allowed; the reason'),
    ],
    timeoutSeconds: 12 * HOUR,
  },
  rollback: {
    name: 'rollback',
    description: 'restore the repodata the last publish replaced, then rewrite the file lists',
    params: [...RELEASE, SIG_TREE],
    timeoutSeconds: 2 * HOUR,
  },
  'file-lists': {
    name: 'file-lists',
    description: 'write the quick-fedora-mirror file lists of the production trees, last',
    params: [flag('full', 'walk every tree whole instead of starting from its directory cache')],
    timeoutSeconds: 4 * HOUR,
  },
  'minor-release': {
    name: 'minor-release',
    description: 'GA staging sync: ISOs, CHECKSUM, golden kickstart, treeinfo, links, sign',
    params: [...RELEASE],
    timeoutSeconds: 12 * HOUR,
  },
  torrents: {
    name: 'torrents',
    description: 'one torrent per ISO set with the configured trackers',
    params: [...RELEASE],
    timeoutSeconds: 4 * HOUR,
  },
  'ga-publish': {
    name: 'ga-publish',
    description:
      'GA day in production: close the new release root (750), move the major link, open it (755), vault the previous minor',
    params: [
      ...RELEASE,
      oneOf('step', GA_STEPS, 'close, link, open or vault', true),
      p('previous', 'revision', 'the release to vault (default: the newest older minor in production)'),
    ],
    timeoutSeconds: 4 * HOUR,
  },
  'install-signing-key': {
    name: 'install-signing-key',
    description:
      'import the signing-key secret into the 0700 gpg home once its fingerprints are the configured ones',
    params: [
      p('major', 'major', "check only this major's signingKeyId (default: every configured major)"),
      oneOf(
        'secret-source',
        SECRET_SOURCES,
        'read the secret from a file under the root or Secrets Manager (default host.secretSource)',
      ),
    ],
    timeoutSeconds: 600,
  },
  doctor: {
    name: 'doctor',
    description:
      'check tools and versions, mounts, the signing key and free space; exit 1 naming what is missing',
    params: [p('major', 'major', "check only this major's signing key (default: every configured major)")],
    timeoutSeconds: 600,
  },
} as const satisfies Record<string, OperationSpec>;

export type HostOperationName = keyof typeof HOST_OPERATIONS;

export function isHostOperation(name: string): name is HostOperationName {
  return Object.hasOwn(HOST_OPERATIONS, name);
}

/**
 * Parameters a host sets itself rather than a caller: the document fixes the root, the config
 * file and --json, so no SSM document offers them and no pipeline may pass them.
 */
export const HOST_FIXED_PARAMS: ReadonlySet<string> = new Set(['root', 'config', 'json']);

/** SSM parameter names are the flags in camelCase (`approved-digest` → `approvedDigest`). */
export function ssmParamName(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every parameter of an operation, its own and the common ones. */
export function paramsOf(name: HostOperationName): readonly OperationParam[] {
  return [...COMMON_PARAMS, ...HOST_OPERATIONS[name].params];
}

/** The regular expression a parameter's value must match, as SSM's allowedPattern takes it. */
export function paramPattern(param: OperationParam): string | undefined {
  if (param.kind.type === 'pattern') return PATTERNS[param.kind.pattern];
  return undefined;
}

/** `releng-host` argv for an operation: validated values only, flags without values. */
export function hostArgv(
  name: HostOperationName,
  values: Record<string, string | boolean | undefined>,
): string[] {
  const argv: string[] = [name];
  const known = new Map(paramsOf(name).map((param) => [param.name, param]));
  for (const [key, value] of Object.entries(values)) {
    const param = known.get(key);
    if (!param) throw new Error(`${name}: unknown parameter ${JSON.stringify(key)}`);
    if (value === undefined || value === false) continue;
    if (param.kind.type === 'flag') {
      argv.push(`--${key}`);
      continue;
    }
    const text = String(value);
    checkParam(name, param, text);
    argv.push(`--${key}`, text);
  }
  return argv;
}

/** A bad option of a host operation: bad input, exit code 2, nothing started. */
export class ParamError extends RelengError {
  override readonly name = 'ParamError';
  constructor(message: string, options: RelengErrorOptions = {}) {
    super(message, { exitCode: EXIT.USAGE, ...options });
  }
}

/** Throws a ParamError naming the operation, flag and bad value. */
export function checkParam(operation: string, param: OperationParam, value: string): void {
  if (param.kind.type === 'enum' && !param.kind.values.includes(value)) {
    throw new ParamError(
      `${operation}: --${param.name} ${JSON.stringify(value)} is not one of ${param.kind.values.join(', ')}`,
    );
  }
  if (param.kind.type === 'pattern' && !new RegExp(PATTERNS[param.kind.pattern]).test(value)) {
    throw new ParamError(
      `${operation}: --${param.name} ${JSON.stringify(value)} is not a valid ${param.kind.pattern}`,
    );
  }
}
