import * as z from 'zod';
import {
  Arch,
  Identifier,
  Major as MajorKey,
  matching as pattern,
  RelativePath,
  Revision,
} from '../fields.ts';

export { Arch, Identifier, MajorKey, RelativePath, Revision };

/** Release channels of the seed's RLREL: stable, beta and lookahead. */
export const CHANNELS = ['stable', 'beta', 'lh'] as const;
export const Channel = z.enum(CHANNELS, { message: `must be one of ${CHANNELS.join(', ')}` });
export type Channel = z.infer<typeof Channel>;

/** produce: full compose with ISOs (produce-8.sh); updates: reuses old composes, no ISOs. */
export const COMPOSE_KINDS = ['produce', 'updates'] as const;
export const ComposeKind = z.enum(COMPOSE_KINDS, { message: `must be one of ${COMPOSE_KINDS.join(', ')}` });
export type ComposeKind = z.infer<typeof ComposeKind>;

const ChannelSettings = z.strictObject({
  /** `8.7`: what pungi labels and the production dir is named after. */
  revision: Revision,
  /** Staging dir suffix (APPEND_TO_DIR): `-RC1`, `-BETA`, `-LookAhead`. */
  dirSuffix: pattern('dirSuffix', 'directory suffix'),
  /** Suffix of the compose root (COMPOSE_APPEND): `/mnt/compose/8-BETA`. Empty for stable. */
  composeSuffix: pattern('dirSuffix', 'directory suffix'),
  /** Whether sync-to-prod may publish this channel (the seed refuses beta and lh). */
  publishable: z.boolean(),
});

const GitSource = z.strictObject({
  url: z.string().min(1),
  ref: z.string().regex(/^[A-Za-z0-9._/-]{1,100}$/, { message: 'not a valid git ref' }),
});

const ComposeSettings = z.strictObject({
  /** Pungi config per kind, relative to the pungi-rocky checkout: `r8.conf`, `r8-extras.conf`. */
  pungiConfig: z.partialRecord(ComposeKind, pattern('relativePath', 'config path')),
  /** Variants (top-level repos) this compose produces. */
  variants: z.array(Identifier).min(1),
});

const MajorSettings = z.strictObject({
  arches: z.array(Arch).min(1),
  channels: z.strictObject({ stable: ChannelSettings, beta: ChannelSettings, lh: ChannelSettings }),
  /** Repos createrepo'd with their comps file (MODS_REPOS in common_X). */
  reposWithComps: z.array(Identifier),
  /** Repos without comps (NONMODS_REPOS). */
  reposWithoutComps: z.array(Identifier),
  /** Repos whose repodata carries modules.yaml (MODS). */
  moduleRepos: z.array(Identifier),
  /**
   * Repos a client enables by default (BaseOS, AppStream): repoclosure closes them together and
   * every other repo against them plus itself (shared/repoclosure.ts).
   */
  repoclosureBase: z.array(Identifier).default(['BaseOS', 'AppStream']),
  /** Lowercase convenience links at the release top level: NFV -> nfv. */
  linkRepos: z.record(Identifier, Identifier),
  /** Non-SIG composes by short name (NONSIG_COMPOSE). */
  composes: z.record(Identifier, ComposeSettings),
  /**
   * Whether sync-to-staging deletes what a compose no longer has (Rocky 9's SOP runs
   * sync-to-staging.delete.sh; Rocky 8 keeps older packages). Deletes stay inside the synced units.
   */
  stagingSyncDeletes: z.boolean().default(false),
  /** Order sync-to-staging runs them in: dependants first, the main compose last. */
  stagingOrder: z.array(Identifier),
  /** SIG composes: name -> path under the SIG category (SIG_COMPOSE). */
  sigComposes: z.record(Identifier, RelativePath),
  /**
   * SIGs staged (and announced as releases of their own) whenever intake composes this compose:
   * compose short name -> SIG names. Empty by default: the seed syncs SIGs only when they changed.
   */
  sigsStagedWith: z.record(Identifier, z.array(Identifier)).default({}),
  /** Variants that exist only as ISOs (Minimal): no repo in the release tree. */
  isoOnlyVariants: z.array(Identifier),
  /** ISO variants that get download links and torrents (VARIANTS). */
  isoVariants: z.array(Identifier),
  /** Key that signs repomd.xml for this major (RPM-GPG-KEY-rockyofficial for 8). */
  signingKeyId: pattern('gpgKey', 'key id'),
  /** createrepo `--distro` tag. */
  distroTag: z
    .string()
    .regex(/^cpe:[A-Za-z0-9:._/-]+,[A-Za-z0-9 ._-]+$/, { message: 'not a valid distro tag' }),
  /** Koji tags that feed each lane's compose. */
  kojiTags: z.record(pattern('kojiTag', 'koji tag'), Identifier),
  git: z.strictObject({ pungi: GitSource, comps: GitSource, moduleMetadata: GitSource }),
  /** Product name Apollo uses for errata: `Rocky Linux 8` (+ ` $arch`). */
  errataProduct: z.string().regex(/^[A-Za-z0-9 ._-]{1,64}$/, { message: 'not a valid product name' }),
  /** Repos apply-updateinfo leaves alone (apollo_tree's skip list). */
  errataSkip: z.array(Identifier),
});
export type MajorSettings = z.infer<typeof MajorSettings>;

const MountRoots = z.strictObject({
  koji: RelativePath,
  compose: RelativePath,
  staging: RelativePath,
  production: RelativePath,
});

const AwsSettings = z.strictObject({
  account: z
    .string()
    .regex(/^[0-9]{12}$/, { message: 'not a 12-digit account id' })
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, { message: 'not an AWS region' })
    .optional(),
  vpcId: z
    .string()
    .regex(/^vpc-[a-f0-9]{8,17}$/, { message: 'not a VPC id' })
    .optional(),
  subnetIds: z.array(z.string().regex(/^subnet-[a-f0-9]{8,17}$/, { message: 'not a subnet id' })).default([]),
  /** One EFS file system per mount, or the same id for several. Omitted: the stack creates one. */
  efs: z
    .strictObject({
      koji: z.string().regex(/^fs-[a-f0-9]{8,17}$/, { message: 'not an EFS id' }),
      compose: z.string().regex(/^fs-[a-f0-9]{8,17}$/, { message: 'not an EFS id' }),
      staging: z.string().regex(/^fs-[a-f0-9]{8,17}$/, { message: 'not an EFS id' }),
      production: z.string().regex(/^fs-[a-f0-9]{8,17}$/, { message: 'not an EFS id' }),
    })
    .optional(),
  composeHosts: z
    .strictObject({
      /** Existing instances to drive; empty with no tag means the stack creates one. */
      instanceIds: z
        .array(z.string().regex(/^i-[a-f0-9]{8,17}$/, { message: 'not an instance id' }))
        .default([]),
      tag: z.strictObject({ key: z.string().min(1).max(128), value: z.string().min(1).max(256) }).optional(),
      instanceType: z
        .string()
        .regex(/^[a-z0-9]+\.[a-z0-9]+$/, { message: 'not an instance type' })
        .default('m6i.2xlarge'),
      /**
       * The Rocky 8 AMI of a created host, pinned: a new id replaces the host, so it changes only
       * when this does. Takes precedence over amiParameter.
       */
      amiId: z
        .string()
        .regex(/^ami-[a-f0-9]{8,17}$/, { message: 'not an AMI id' })
        .optional(),
      /**
       * SSM parameter holding the Rocky 8 AMI id for a created host, when amiId is not set: read
       * once at synth into cdk.context.json when aws.account and aws.region are set, else at
       * every deploy (synth warns).
       */
      amiParameter: z
        .string()
        .regex(/^\/[A-Za-z0-9_./-]+$/)
        .default('/releng/compose-host/ami'),
    })
    .prefault({}),
  /**
   * Who may approve promotions, as SQS reports the sender (SenderId): an IAM user's unique id
   * (`AIDA…`), or a role's unique id (`AROA…`, any session) or `AROA…:session`. ARNs never
   * match: SQS does not report them.
   */
  approvers: z
    .array(z.string().regex(/^[A-Za-z0-9:/_+=,.@-]{1,256}$/, { message: 'not an IAM principal' }))
    .default([]),
  notificationEmails: z.array(z.email({ message: 'not an email address' })).default([]),
  /** Secrets Manager secret holding the armoured private signing key. */
  signingKeySecret: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/)
    .default('releng/signing-key'),
});

/** Where install-signing-key reads the signing-key secret: a file under the root, or Secrets Manager. */
export const SECRET_SOURCES = ['file', 'aws'] as const;

/** How the compose host itself is checked (releng-host doctor, and before every operation). */
/** GA day (ga-publish): where previous minor releases are vaulted, and whether they are. */
const GaSettings = z.strictObject({
  /** The vault tree on the production mount (the toolkit's VAULT_STUB). */
  vaultStub: RelativePath.default('mirror/vault/rocky'),
  /** Copy the previous minor release of the major into the vault when a new one opens. */
  vaultPrevious: z.boolean().default(true),
});

const HostSettings = z.strictObject({
  /**
   * Every tree (config.mounts) must be a mount point of an NFS 4 / EFS file system; an
   * operation refuses to use a tree that is not. True on AWS, where the trees are EFS.
   */
  requireMounts: z.boolean().default(false),
  /** doctor fails when a tree's file system has less free space than this, in GiB. */
  minFreeGiB: z.number().min(0).max(1_000_000).default(5),
  /**
   * `file`: `<root>/etc/releng/secrets/<secret name>` (the local twin); `aws`: Secrets
   * Manager. install-signing-key's `--secret-source` overrides it.
   */
  secretSource: z
    .enum(SECRET_SOURCES, { message: `must be one of ${SECRET_SOURCES.join(', ')}` })
    .default('file'),
});

/** Dotted topic prefix a broker puts before koji's topics: `org.rockylinux.prod`, `koji`. */
const TopicPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/, { message: 'not a dotted topic prefix' });

/** Where koji's tag changes come from: broker topics, and optionally a hub to poll. */
const KojiSettings = z.strictObject({
  /**
   * Prefixes accepted before `buildsys.tag` (fedora-messaging) and `build.tag` (koji's protonmsg
   * plugin): a message under any other prefix is rejected, naming its topic.
   */
  topicPrefixes: z
    .array(TopicPrefix)
    .min(1)
    .default([
      'org.rockylinux.prod',
      'org.rockylinux.stg',
      'org.fedoraproject.prod',
      'org.centos.prod',
      'koji',
    ]),
  /** A koji hub's XML-RPC URL (`https://koji.example.org/kojihub`): set, the stack polls it. */
  hubUrl: z.url({ protocol: /^https?$/, message: 'not an http(s) URL' }).optional(),
  /** Minutes between polls of hubUrl. */
  pollMinutes: z.number().int().min(1).max(1440).default(5),
});

/** Reports a problem at `path` inside one major's settings. */
type ReportIssue = (path: (string | number)[], message: string, input: unknown) => void;

const configuredRepos = (m: MajorSettings) => new Set([...m.reposWithComps, ...m.reposWithoutComps]);

/** Module repos carry comps too: each must be among reposWithComps. */
function checkModuleRepos(m: MajorSettings, report: ReportIssue): void {
  m.moduleRepos.forEach((repo, i) => {
    if (!m.reposWithComps.includes(repo)) report(['moduleRepos', i], 'is not in reposWithComps', repo);
  });
}

function checkRepoclosureBase(m: MajorSettings, report: ReportIssue): void {
  const repos = configuredRepos(m);
  m.repoclosureBase.forEach((repo, i) => {
    if (!repos.has(repo)) report(['repoclosureBase', i], 'is not a configured repo', repo);
  });
}

function checkLinkRepos(m: MajorSettings, report: ReportIssue): void {
  const repos = configuredRepos(m);
  for (const repo of Object.keys(m.linkRepos)) {
    if (!repos.has(repo)) report(['linkRepos', repo], 'links a repo that is not configured', repo);
  }
}

/** stagingOrder lists every compose exactly as configured: none unknown, none missing. */
function checkStagingOrder(m: MajorSettings, report: ReportIssue): void {
  m.stagingOrder.forEach((name, i) => {
    if (!(name in m.composes)) report(['stagingOrder', i], 'names no configured compose', name);
  });
  for (const name of Object.keys(m.composes)) {
    if (!m.stagingOrder.includes(name)) report(['stagingOrder'], `misses compose ${name}`, m.stagingOrder);
  }
}

function checkSigsStagedWith(m: MajorSettings, report: ReportIssue): void {
  for (const [compose, sigs] of Object.entries(m.sigsStagedWith)) {
    if (!(compose in m.composes)) report(['sigsStagedWith', compose], 'names no configured compose', compose);
    sigs.forEach((sig, i) => {
      if (!(sig in m.sigComposes)) report(['sigsStagedWith', compose, i], 'names no configured SIG', sig);
    });
  }
}

function checkKojiTags(m: MajorSettings, report: ReportIssue): void {
  for (const [tag, compose] of Object.entries(m.kojiTags)) {
    if (!(compose in m.composes)) report(['kojiTags', tag], 'maps to no configured compose', compose);
  }
}

/** A compose's variants are repos of the release, or ISO-only variants. */
function checkComposeVariants(m: MajorSettings, report: ReportIssue): void {
  const repos = configuredRepos(m);
  for (const [name, c] of Object.entries(m.composes)) {
    c.variants.forEach((v, i) => {
      if (!repos.has(v) && !m.isoOnlyVariants.includes(v))
        report(['composes', name, 'variants', i], 'is not a configured repo', v);
    });
  }
}

/** Cross-references inside one major's settings, each naming something that major configures. */
const MAJOR_CHECKS = [
  checkModuleRepos,
  checkRepoclosureBase,
  checkLinkRepos,
  checkStagingOrder,
  checkSigsStagedWith,
  checkKojiTags,
  checkComposeVariants,
];

export const ConfigSchema = z
  .strictObject({
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,20}$/, { message: 'not a stage name' })
      .default('dev'),
    defaultMajor: MajorKey.default('8'),
    mounts: MountRoots,
    categoryStub: RelativePath,
    sigCategoryStub: RelativePath,
    /** Owner of synced files (rsync --chown). Applied only when running as root. */
    owner: z.strictObject({ uid: z.number().int().min(0), gid: z.number().int().min(0) }),
    /** Globs hardlink never merges: files edited in place must not leak between trees. */
    hardlinkExclude: z.array(z.string().min(1)),
    /** Worker count for the parallel per-repo syncs (the seed ran 18 GNU parallel jobs). */
    syncJobs: z.number().int().min(1).max(64),
    /** createrepo_c worker count (the seed used 12). */
    createrepoWorkers: z.number().int().min(1).max(64),
    /** Largest fraction of files a publish may delete or shrink without --allow-shrink. */
    maxShrinkFraction: z.number().min(0).max(1),
    /**
     * Hours a metadata file stays in production after no published repomd.xml names it, so a
     * mirror that already holds the previous repomd.xml still finds every file it names.
     */
    metadataGraceHours: z
      .number()
      .min(0)
      .max(24 * 30),
    signing: z.strictObject({
      /** gpg home relative to --root; on AWS the host fills it from the signing-key secret. */
      gpgHome: RelativePath,
    }),
    errata: z.strictObject({ apolloBaseUrl: z.url({ message: 'not a URL' }) }),
    approval: z.strictObject({
      /** The approver must not be the requester. */
      twoPersonRule: z.boolean(),
      timeoutHours: z
        .number()
        .positive()
        .max(24 * 365),
    }),
    /**
     * Staging-ready messages arriving within coalesceSeconds of the first one join ONE promotion
     * (each release approved on its own, the file lists written once after every publish).
     */
    promotion: z
      .strictObject({ coalesceSeconds: z.number().int().min(0).max(3600).default(180) })
      .prefault({}),
    /** Quiet window in which koji events of one lane coalesce into one compose. */
    intake: z.strictObject({ quietWindowSeconds: z.number().int().min(1).max(86400) }),
    torrents: z.strictObject({
      trackers: z.array(z.url()).min(1),
      commentUrl: z.string().includes('{revision}', { message: 'must contain {revision}' }),
    }),
    aws: AwsSettings.prefault({}),
    host: HostSettings.prefault({}),
    koji: KojiSettings.prefault({}),
    ga: GaSettings.prefault({}),
    majors: z.record(MajorKey, MajorSettings),
  })
  .superRefine((config, ctx) => {
    if (!(config.defaultMajor in config.majors)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultMajor'],
        message: `names no configured major (have ${Object.keys(config.majors).join(', ')})`,
        input: config.defaultMajor,
      });
    }
    for (const [major, m] of Object.entries(config.majors)) {
      const report: ReportIssue = (path, message, input) =>
        ctx.addIssue({ code: 'custom', path: ['majors', major, ...path], message, input });
      for (const check of MAJOR_CHECKS) check(m, report);
    }
  });

export type ReleaseConfig = z.infer<typeof ConfigSchema>;
