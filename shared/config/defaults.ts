import type { MajorSettings } from './schema.ts';

/**
 * What the toolkit's `common`, `common_8` and `common_9` hold today (sig-core-toolkit sync/,
 * early 2023), as data. Values marked [inferred] are not in the public scripts.
 */
const GIT = 'https://git.rockylinux.org/rocky';

const ROCKY_8: MajorSettings = {
  arches: ['x86_64', 'aarch64'],
  channels: {
    stable: { revision: '8.7', dirSuffix: '-RC1', composeSuffix: '', publishable: true },
    beta: { revision: '8.8', dirSuffix: '-BETA', composeSuffix: '-BETA', publishable: false },
    lh: { revision: '8.8', dirSuffix: '-LookAhead', composeSuffix: '-LookAhead', publishable: false },
  },
  reposWithComps: ['BaseOS', 'AppStream', 'HighAvailability', 'ResilientStorage', 'PowerTools', 'RT', 'NFV'],
  reposWithoutComps: ['extras', 'Devel', 'plus'],
  moduleRepos: ['AppStream', 'PowerTools'],
  repoclosureBase: ['BaseOS', 'AppStream'],
  linkRepos: { NFV: 'nfv', Devel: 'devel' },
  composes: {
    Rocky: {
      // updates-8.sh is not public; its config name is [inferred] from the per-variant scripts.
      pungiConfig: { produce: 'r8.conf', updates: 'r8-updates.conf' },
      variants: [
        'BaseOS',
        'AppStream',
        'PowerTools',
        'HighAvailability',
        'ResilientStorage',
        'RT',
        'NFV',
        'Minimal',
      ],
    },
    Extras: { pungiConfig: { updates: 'r8-extras.conf' }, variants: ['extras'] },
    'Rocky-devel': { pungiConfig: { updates: 'r8-devel.conf' }, variants: ['Devel'] },
    Plus: { pungiConfig: { updates: 'r8-plus.conf' }, variants: ['plus'] },
    NFV: { pungiConfig: { updates: 'r8-nfv.conf' }, variants: ['NFV'] },
  },
  stagingOrder: ['Plus', 'Extras', 'Rocky-devel', 'NFV', 'Rocky'],
  stagingSyncDeletes: false,
  sigComposes: { kernel: 'kernel/kernel', kmod: 'kernel/kmod' },
  sigsStagedWith: {},
  isoOnlyVariants: ['Minimal'],
  isoVariants: ['boot', 'minimal', 'dvd1'],
  signingKeyId: '15AF5DAC6D745A60',
  distroTag: 'cpe:/o:rocky:rocky:8,Rocky Linux 8',
  // Tag names are [inferred]; a deployment lists its koji's real ones in releng.config.json.
  kojiTags: {
    'dist-rocky8-updates-build': 'Rocky',
    'dist-rocky8-extras-build': 'Extras',
    'dist-rocky8-devel-build': 'Rocky-devel',
    'dist-rocky8-plus-build': 'Plus',
  },
  git: {
    pungi: { url: `${GIT}/pungi-rocky.git`, ref: 'r8' },
    comps: { url: `${GIT}/comps.git`, ref: 'r8' },
    moduleMetadata: { url: `${GIT}/rocky-module-metadata.git`, ref: 'r8' },
  },
  errataProduct: 'Rocky Linux 8',
  errataSkip: [
    'Live',
    'Minimal',
    'devel',
    'extras',
    'images',
    'isos',
    'live',
    'metadata',
    'Devel',
    'plus',
    'nfv',
  ],
};

const ROCKY_9: MajorSettings = {
  arches: ['x86_64', 'aarch64', 'ppc64le', 's390x'],
  channels: {
    stable: { revision: '9.1', dirSuffix: '-RC4', composeSuffix: '', publishable: true },
    // common_9's beta/lh revision is the next minor [inferred]; it sets no COMPOSE_APPEND.
    beta: { revision: '9.2', dirSuffix: '-beta', composeSuffix: '', publishable: false },
    lh: { revision: '9.2', dirSuffix: '-lookahead', composeSuffix: '', publishable: false },
  },
  reposWithComps: [
    'BaseOS',
    'AppStream',
    'CRB',
    'HighAvailability',
    'ResilientStorage',
    'RT',
    'NFV',
    'SAP',
    'SAPHANA',
  ],
  reposWithoutComps: ['extras', 'devel', 'plus'],
  moduleRepos: ['AppStream', 'CRB'],
  repoclosureBase: ['BaseOS', 'AppStream'],
  linkRepos: { NFV: 'nfv' },
  composes: {
    // Rocky 9 is built by empanadas/peridot; the pungi names keep one shape for both majors.
    Rocky: {
      pungiConfig: { produce: 'r9.conf', updates: 'r9-updates.conf' },
      variants: [
        'BaseOS',
        'AppStream',
        'CRB',
        'HighAvailability',
        'ResilientStorage',
        'RT',
        'NFV',
        'SAP',
        'SAPHANA',
        'extras',
        'plus',
        'devel',
        'Minimal',
      ],
    },
  },
  stagingOrder: ['Rocky'],
  // common_9's staging SOP syncs with sync-to-staging.delete.sh.
  stagingSyncDeletes: true,
  sigComposes: {},
  sigsStagedWith: {},
  isoOnlyVariants: ['Minimal'],
  isoVariants: ['boot', 'minimal', 'dvd'],
  signingKeyId: '702D426D350D275D',
  distroTag: 'cpe:/o:rocky:rocky:9,Rocky Linux 9',
  kojiTags: { 'dist-rocky9-updates-build': 'Rocky' },
  git: {
    pungi: { url: `${GIT}/pungi-rocky.git`, ref: 'r9' },
    comps: { url: `${GIT}/comps.git`, ref: 'r9' },
    moduleMetadata: { url: `${GIT}/rocky-module-metadata.git`, ref: 'r9' },
  },
  errataProduct: 'Rocky Linux 9',
  errataSkip: ['Live', 'Minimal', 'devel', 'extras', 'images', 'isos', 'live', 'metadata', 'plus', 'nfv'],
};

/** The full default config, before a releng.config.json is merged over it. */
export const DEFAULT_CONFIG = {
  stage: 'dev',
  defaultMajor: '8',
  mounts: {
    koji: 'mnt/koji',
    compose: 'mnt/compose',
    staging: 'mnt/repos-staging',
    production: 'mnt/repos-production',
  },
  categoryStub: 'mirror/pub/rocky',
  sigCategoryStub: 'mirror/pub/sig',
  owner: { uid: 10004, gid: 10005 },
  hardlinkExclude: ['*.xml*', '.treeinfo', '.discinfo'],
  syncJobs: 18,
  createrepoWorkers: 12,
  maxShrinkFraction: 0.05,
  metadataGraceHours: 48,
  signing: { gpgHome: 'etc/releng/gnupg' },
  errata: { apolloBaseUrl: 'https://apollo.build.resf.org/api/v3/updateinfo' },
  approval: { twoPersonRule: true, timeoutHours: 72 },
  intake: { quietWindowSeconds: 300 },
  promotion: { coalesceSeconds: 180 },
  torrents: {
    trackers: ['udp://tracker.opentrackr.org:1337/announce', 'udp://tracker.openbittorrent.com:80/announce'],
    commentUrl: 'https://docs.rockylinux.org/release_notes/{revision}/',
  },
  aws: {},
  host: { requireMounts: false, minFreeGiB: 5, secretSource: 'file' },
  majors: { '8': ROCKY_8, '9': ROCKY_9 },
};
