/**
 * The one table the `releng` help pages come from: per command its usage, what it does, every
 * option its parser takes (meaning and default) and examples. test/cli/help.test.ts checks it
 * against the commands main registers and the options each parser accepts.
 */
export interface OptionHelp {
  /** Without the leading dashes. */
  name: string;
  /** The value's placeholder; none for a flag. */
  value?: string;
  description: string;
  /** What applies when the option is not given. */
  default?: string;
}

export interface CommandHelp {
  usage: string;
  summary: string;
  options: OptionHelp[];
  examples: string[];
  /** Subcommand pages (`releng config check --help`); they share the command's options. */
  subcommands?: Record<string, Omit<CommandHelp, 'options' | 'subcommands'>>;
}

const o = (name: string, value: string | undefined, description: string, dflt?: string): OptionHelp => ({
  name,
  ...(value ? { value } : {}),
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

const JSON_OPT = o('json', undefined, 'print one JSON object on stdout (progress goes to stderr)');
const ROOT = o('root', 'DIR', 'the local engine root: state, logs and the trees it writes', '.releng');
const CONFIG = o('config', 'FILE', 'the releng.config.json to use', './releng.config.json or $RELENG_CONFIG');

/** The options of every command that talks to an engine (cli/commands/session.ts ENGINE_OPTIONS). */
const ENGINE: OptionHelp[] = [
  o('engine', 'local|aws', 'run on the local engine or against the deployed stack', 'local'),
  ROOT,
  CONFIG,
  o('stack', 'NAME', 'with --engine aws: the CloudFormation stack', 'Releng-<stage> from the config'),
  JSON_OPT,
];

/** The options every command starting a pipeline or host step takes (cli/commands/run.ts RUN_OPTIONS). */
const RUN: OptionHelp[] = [
  ...ENGINE,
  o('major', 'N', 'the Rocky major version', 'the major of --release, else 8'),
  o('channel', 'stable|beta|lh', 'the release channel', 'stable'),
  o('release', 'MAJOR.MINOR', 'the release, e.g. 8.10 (written as a string)', 'the channel revision'),
  o('compose', 'NAME', 'a compose to build or stage; repeat for several', 'Rocky'),
  o('kind', 'updates|produce|…', 'the compose kind', 'updates (produce for minor-release)'),
  o('sig', 'NAME', 'a SIG to include; repeat for several', 'none'),
  o('reason', 'WHY', 'why this runs, recorded with the request', 'releng COMMAND by USER'),
  o('name', 'EXECUTION', 'the execution name', 'COMMAND-MAJOR-TIMESTAMP'),
  o('digest', 'SHA256', 'promote: the staged digest to publish', 'the latest staging-ready message'),
  o('updateinfo', 'FILE', 'errata: the updateinfo.xml to apply', 'the advisories of the compose'),
  o('tree', 'staging|production', 'sign: the tree to sign', 'staging'),
  o(
    'allow-shrink',
    'REASON',
    'promote --step: publish even when it deletes or shrinks more than allowed; the reason',
    'refuse',
  ),
  o('ga-step', 'close|link|open|vault', 'ga-publish: the GA-day step to run', 'none: ga-publish needs one'),
  o('previous', 'MAJOR.MINOR', 'ga-publish --ga-step vault: the release to vault', 'the newest older minor'),
  o('step', undefined, 'run only the host operation, not the whole state machine'),
  o('dry-run', undefined, 'with --step: print the plan, change nothing'),
  o('yes', undefined, 'approve the promotion as the demo approver (local engine only)'),
  o('quiet', undefined, 'do not print host progress lines'),
];

/** The options of `releng locks` and `releng unlock` (cli/commands/locks.ts). */
const LOCKS: OptionHelp[] = [
  ...ENGINE,
  o('table', 'NAME', 'with --engine aws: the state table', '$STATE_TABLE_NAME'),
  o('audit', undefined, 'list the locks freed by hand: who, when and why'),
];

const runPage = (command: string, summary: string, example: string): CommandHelp => ({
  usage: `releng ${command} [options]`,
  summary,
  options: RUN,
  examples: [example, `releng ${command} --major 8 --step --dry-run`],
});

const HOST_STEP = 'one host step (releng-host OPERATION) through the host-command path';

export const HELP_PAGES: Record<string, CommandHelp> = {
  config: {
    usage: 'releng config show|check [options]',
    summary: 'what the pipeline will use, and whether a config file is valid',
    options: [
      o('major', 'N', 'show: only this major', 'every configured major'),
      JSON_OPT,
      CONFIG,
      o('root', 'DIR', 'show: the config the pipeline in that root runs with, and the paths under it', '/'),
    ],
    examples: ['releng config show --major 8', 'releng config check releng.config.json'],
    subcommands: {
      show: {
        usage: 'releng config show [--major N] [--config FILE] [--root DIR] [--json]',
        summary:
          'the configuration and the directories derived per channel (staging 8.7-RC1, production 8.7, …)',
        examples: ['releng config show --major 8', 'releng config show --json'],
      },
      check: {
        usage: 'releng config check [FILE] [--json]',
        summary: 'checks a config file; exit 1 listing every problem (key, what is wrong, the value)',
        examples: ['releng config check releng.config.json'],
      },
    },
  },
  intake: {
    usage: 'releng intake koji FILE|- [options]',
    summary:
      'feeds koji tag events (JSON Lines, one SQS message body per line; - reads standard input) through the koji-events logic; exit 1 when a message was rejected or a started execution failed',
    options: [
      o(
        'engine',
        'local|record',
        'local runs the started compose executions; record only records the starts',
        'local',
      ),
      ROOT,
      CONFIG,
      o('stack', 'NAME', 'not used by intake (accepted with the engine options)'),
      o(
        'json',
        undefined,
        'print the report as one JSON object: rejected[].line is the 1-based line, index the 0-based one',
      ),
      o('dry-run', undefined, 'decide and print what would start, start nothing'),
      o('yes', undefined, 'approve the resulting promotions as the demo approver'),
    ],
    examples: ['releng intake koji events.jsonl --dry-run', 'cat events.jsonl | releng intake koji - --json'],
    subcommands: {
      koji: {
        usage: 'releng intake koji FILE|- [--root DIR] [--json] [--dry-run] [--yes] [--engine local|record]',
        summary: 'koji tag events, one JSON message body per line; - reads standard input',
        examples: ['releng intake koji events.jsonl', 'releng intake koji - < events.jsonl'],
      },
    },
  },
  demo: {
    usage: 'releng demo [options]',
    summary:
      'one complete updates cycle on the local engine: compose, staging, approval, production, file lists',
    options: [
      ROOT,
      o(
        'release',
        'MAJOR.MINOR',
        'publish under this release, e.g. 8.10',
        'the configured 8 stable revision',
      ),
      o('yes', undefined, 'approve the promotion as the demo approver instead of waiting for a decision'),
      o('force', undefined, 'run on a root that already holds a pipeline, deleting it (refused without)'),
      o(
        'ga',
        undefined,
        'GA day instead: produce compose with small ISOs, minor-release, torrents, promotion, the major link, the bitflip (a second approval) and the vault',
      ),
      JSON_OPT,
      o('quiet', undefined, 'do not print host progress lines'),
    ],
    examples: [
      'releng demo --yes',
      'releng demo --root /tmp/demo --release 8.10 --yes --json',
      'releng demo --root /tmp/ga --ga --release 8.10 --yes --json',
    ],
  },
  compose: runPage(
    'compose',
    'starts the compose state machine for a lane',
    'releng compose --major 8 --compose Rocky',
  ),
  'sync-staging': runPage(
    'sync-staging',
    'starts the staging state machine: sync, prep, errata, sign, verify → digest',
    'releng sync-staging --major 8 --compose Rocky',
  ),
  prep: runPage('prep', `createrepo over staging: ${HOST_STEP}`, 'releng prep --major 8'),
  errata: runPage(
    'errata',
    `applies updateinfo to staging: ${HOST_STEP}`,
    'releng errata --major 8 --updateinfo updateinfo.xml',
  ),
  sign: runPage(
    'sign',
    `signs the repository metadata: ${HOST_STEP}`,
    'releng sign --major 8 --tree staging',
  ),
  verify: runPage(
    'verify',
    `verifies staging and computes its digest: ${HOST_STEP}`,
    'releng verify --major 8',
  ),
  promote: runPage(
    'promote',
    'starts the promotion state machine: approval by digest, then production, packages first and metadata last',
    'releng promote --major 8 --digest SHA256',
  ),
  'file-lists': runPage(
    'file-lists',
    `rewrites the mirror file lists: ${HOST_STEP}`,
    'releng file-lists --major 8',
  ),
  'minor-release': runPage(
    'minor-release',
    'starts the minor-release state machine: produce composes, ISOs, kickstart, treeinfo, torrents',
    'releng minor-release --release 8.10 --compose Rocky',
  ),
  torrents: runPage('torrents', `builds the release torrents: ${HOST_STEP}`, 'releng torrents --major 8'),
  'ga-publish': runPage(
    'ga-publish',
    `GA day in production: close the new root (750), move the major link, open it (755), vault the previous minor: ${HOST_STEP}`,
    'releng ga-publish --release 8.10 --ga-step link',
  ),
  rollback: runPage(
    'rollback',
    `restores production's previous metadata: ${HOST_STEP}`,
    'releng rollback --major 8',
  ),
  rerun: {
    usage: 'releng rerun EXECUTION [options]',
    summary: 'starts the execution again with its input, after fixing the cause (on AWS: redrive it)',
    options: [...ENGINE, o('yes', undefined, 'approve a promotion as the demo approver')],
    examples: ['releng rerun compose-8-20261127114000'],
  },
  approvals: {
    usage: 'releng approvals [options]',
    summary: 'pending approvals and what each would publish',
    options: ENGINE,
    examples: ['releng approvals', 'releng approvals --engine aws --json'],
  },
  approve: {
    usage: 'releng approve ID [options]',
    summary: 'approves a pending promotion by its digest',
    options: [
      ...ENGINE,
      o('reason', 'WHY', 'recorded with the decision'),
      o('digest', 'SHA256', 'the digest approved', 'the pending approval’s digest'),
    ],
    examples: ['releng approve promote-8-stable-4bac31e6-0 --reason "checked the diff"'],
  },
  reject: {
    usage: 'releng reject ID --reason WHY [options]',
    summary: 'rejects a pending promotion; production stays untouched',
    options: [
      ...ENGINE,
      o('reason', 'WHY', 'why (required)'),
      o('digest', 'SHA256', 'the digest rejected', 'the pending approval’s digest'),
    ],
    examples: ['releng reject promote-8-stable-4bac31e6-0 --reason "kernel regression"'],
  },
  withdraw: {
    usage: 'releng withdraw ID --reason WHY [options]',
    summary: 'the requester takes back their own pending request; nothing is published (local engine)',
    options: [...ENGINE, o('reason', 'WHY', 'why it is withdrawn, recorded with the decision (required)')],
    examples: ['releng withdraw promote-8-stable-4bac31e6-0 --reason "wrong compose"'],
  },
  locks: {
    usage: 'releng locks [options]',
    summary: 'every lock with its holder, execution, host, pid, age and expiry',
    options: LOCKS,
    examples: ['releng locks', 'releng locks --audit', 'releng locks --engine aws --table Releng-prod-state'],
  },
  unlock: {
    usage: 'releng unlock LOCK --reason WHY [options]',
    summary:
      'frees a lock whose holder is gone (a live one only with --force); the audit trail records who and why',
    options: [
      ...LOCKS,
      o('reason', 'WHY', 'why it is freed, recorded in the audit trail (required)'),
      o('force', undefined, 'free it even though its holder still runs'),
    ],
    examples: ['releng unlock lane:8/Rocky --reason "compose host rebooted"'],
  },
  status: {
    usage: 'releng status [options]',
    summary: 'running and recent executions, their current steps, lane and publish locks',
    options: [...ENGINE, o('limit', 'N', 'show at most N recent executions', '20')],
    examples: ['releng status', 'releng status --limit 5 --json'],
  },
  history: {
    usage: 'releng history EXECUTION [options]',
    summary: 'the events of an execution with times, and how long each step took',
    options: [...ENGINE, o('all', undefined, 'every event, not only the steps')],
    examples: ['releng history compose-8-20261127114000'],
  },
  logs: {
    usage: 'releng logs EXECUTION [options]',
    summary: 'the host operation output of an execution',
    options: [...ENGINE, o('step', 'STATE', 'only this state’s output', 'every step')],
    examples: ['releng logs promote-8-stable-4bac31e6 --step SyncToProd'],
  },
  'mirror-pull': {
    usage: 'releng mirror-pull --from rsync://HOST[:PORT]/MODULE/PATH --to DIR [options]',
    summary:
      'pulls a published tree as a mirror does: content first, then each repodata/ fetched beside DIR, checked (signature, checksums, packages present) and renamed into place; safe to kill and rerun; exit 3 when DIR kept previous metadata because the source changed (run again)',
    options: [
      o('from', 'URL', 'the rsync source (required)'),
      o('to', 'DIR', 'the mirror directory (required)'),
      o(
        'key',
        'FILE',
        'the armoured release key; later pulls trust the key given first',
        'the key of the first pull',
      ),
      o('keep-hours', 'HOURS', 'keep superseded metadata files this long', '48'),
      o('bwlimit', 'KBPS', 'rsync bandwidth limit', 'none'),
      JSON_OPT,
      o('help', undefined, 'this page'),
    ],
    examples: [
      'releng mirror-pull --from rsync://mirror.example/rocky/8.10 --to /srv/mirror/8.10 --key RPM-GPG-KEY-rocky',
    ],
  },
  graph: {
    usage: 'releng graph MACHINE [options]',
    summary: 'draws a state machine as the CDK app defines it (compose, staging, promotion, minor-release)',
    options: [
      o('format', 'mermaid|dot|svg', 'the output format (svg needs Graphviz dot)', 'mermaid'),
      o('output', 'FILE', 'write to FILE', 'standard output'),
      CONFIG,
      JSON_OPT,
    ],
    examples: ['releng graph promotion --format svg --output promotion.svg'],
  },
  doctor: {
    usage: 'releng doctor [options]',
    summary:
      'the compose host has its tools, mounts, signing key and free space (through the stack’s doctor document)',
    options: [...ENGINE, o('major', 'N', 'check only this major', 'every configured major')],
    examples: ['releng doctor', 'releng doctor --engine aws --major 9'],
  },
};
