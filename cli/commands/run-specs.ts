import type { HostOperationName } from '../../shared/operations.ts';
import type { StateMachineName } from '../../shared/ports.ts';

// Apart from run.ts so `releng --help` lists these commands without loading the engine.

/**
 * What each command starts: a state machine (with the input built from the options), and the
 * host operation `--step` runs alone. Commands without a machine of their own are steps of
 * the staging, promotion or minor-release machines and always run as one host operation.
 */
export interface CommandSpec {
  machine?: StateMachineName;
  operation: HostOperationName;
  help: string;
}

export const RUN_COMMANDS: Record<string, CommandSpec> = {
  compose: {
    machine: 'compose',
    operation: 'compose',
    help: 'compose --major 8 --compose Rocky [--kind updates] [--reason WHY]',
  },
  'sync-staging': {
    machine: 'staging',
    operation: 'sync-to-staging',
    help: 'sync-staging --major 8 --compose Rocky [--step]',
  },
  prep: { operation: 'prep-staging', help: 'prep --major 8: createrepo over staging (one host step)' },
  errata: { operation: 'apply-updateinfo', help: 'errata --major 8 [--updateinfo FILE] (one host step)' },
  sign: { operation: 'sign-repos', help: 'sign --major 8 [--tree staging|production] (one host step)' },
  verify: { operation: 'verify-staging', help: 'verify --major 8 (one host step)' },
  promote: {
    machine: 'promotion',
    operation: 'sync-to-prod',
    help: 'promote --major 8 --digest SHA256 [--yes] [--step]',
  },
  'file-lists': {
    operation: 'file-lists',
    help: 'file-lists: rewrite the mirror file lists (one host step)',
  },
  'minor-release': {
    machine: 'minor-release',
    operation: 'minor-release',
    help: 'minor-release --release 8.10 --compose Rocky [--yes]',
  },
  torrents: { operation: 'torrents', help: 'torrents --major 8 (one host step)' },
  'ga-publish': {
    operation: 'ga-publish',
    help: 'ga-publish --release 8.10 --ga-step close|link|open|vault [--previous 8.9] (one host step)',
  },
  rollback: {
    operation: 'rollback',
    help: 'rollback --major 8 [--yes]: shows the plan, asks (or --yes), then one host step',
  },
};

export const MIRROR_PULL_HELP =
  'mirror-pull --from rsync://HOST[:PORT]/MODULE/PATH --to DIR [--key FILE] [--keep-hours 48] [--bwlimit KBPS] [--json]';
