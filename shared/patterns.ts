/**
 * The tight character patterns every boundary checks: zod schemas here, SSM document
 * `allowedPattern`s in cdk/, and host/ option parsing all use these same sources, so a value
 * that passes one boundary passes them all and no shell metacharacter passes any.
 */
/** One path segment other than `..`, in RE2 syntax (no lookaround). */
const PATH_SEGMENT = '(\\.?[A-Za-z0-9_+-][A-Za-z0-9._+-]*|\\.|\\.\\.[A-Za-z0-9._+-]+)';
/** The same, spaces allowed inside a name (never a whole name of spaces alone). */
const PATH_SEGMENT_WITH_SPACES =
  '(\\.?[A-Za-z0-9_+-][A-Za-z0-9._+ -]*|\\.|\\.\\.[A-Za-z0-9._+ -]*[A-Za-z0-9._+-])';

export const PATTERNS = {
  /** RPM package name: `kernel-rt`, `python3.11-pip`, `libstdc++`. */
  packageName: '^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$',
  /** RPM version or release: no `-` (it separates N-V-R), `~` and `^` are RPM sort markers. */
  versionOrRelease: '^[A-Za-z0-9_.+~^]{1,100}$',
  /** Koji tag: `dist-rocky8-updates-build`. */
  kojiTag: '^[A-Za-z0-9_][A-Za-z0-9._+-]{0,99}$',
  /** Koji user or principal name: `kojira`, `release-bot`, `jdoe@ROCKYLINUX.ORG`. */
  userName: '^[A-Za-z0-9_][A-Za-z0-9._@-]{0,99}$',
  /** Compose short name / variant / repo / SIG: `Rocky-devel`, `BaseOS`, `kernel`. */
  identifier: '^[A-Za-z][A-Za-z0-9_-]{0,63}$',
  /** Major release number. */
  major: '^[0-9]{1,3}$',
  /** Minor release `8.10`; compared as numbers, never cut from a string. */
  revision: '^[0-9]{1,3}\\.[0-9]{1,3}$',
  /** Directory suffix such as `-RC1`, `-BETA`, `-LookAhead`, or empty. */
  dirSuffix: '^(-[A-Za-z0-9]{1,32})?$',
  /** Architecture: `x86_64`, `aarch64`, `ppc64le`, `s390x`, `noarch`. */
  arch: '^[a-z0-9_]{1,16}$',
  /** Lowercase hex SHA-256 digest. */
  sha256: '^[a-f0-9]{64}$',
  /** Compose ID, `Rocky-8-updates-20210721.1`, `Rocky-9.1-20221115.163904` (see compose-id.ts). */
  composeId:
    '^[A-Za-z][A-Za-z0-9]*(-[A-Za-z][A-Za-z0-9]*)*-[0-9]+(\\.[0-9]+)*(-[a-z]+(-[a-z]+)*)?-[0-9]{8}(\\.n|\\.t)?\\.([0-9]{1,4}|[0-9]{6})$',
  /**
   * Relative path inside a managed tree: plain characters, no leading `/`, no `..` segment.
   * Written without lookaround: SSM compiles allowedPattern with Go's RE2, which has none.
   * A segment is anything but `..`: `.x…`, `x…`, `.` or `..x…`.
   */
  relativePath: `^${PATH_SEGMENT}(/${PATH_SEGMENT})*/?$`,
  /** Absolute path on a host (`/mnt/compose`), held to the same segments. */
  absolutePath: `^(/|(/${PATH_SEGMENT})+/?)$`,
  /**
   * The host root and config file: absolute, no `..`, spaces allowed (`/srv/release work/root`).
   * No SSM document offers these (the document fixes them), so they never enter shell text.
   */
  hostPath: `^(/|(/${PATH_SEGMENT_WITH_SPACES})+/?)$`,
  /** Step Functions execution / approval identifiers. */
  executionName: '^[A-Za-z0-9_-]{1,80}$',
  /** A short free-text reason that may travel through SSM parameters (approvals, --allow-shrink). */
  reason: '^[A-Za-z0-9][A-Za-z0-9 ,.:;()/#@_+=-]{0,199}$',
  /** YYYYMMDD */
  date: '^[0-9]{8}$',
  /** GnuPG key id or fingerprint, or an email-like user id. */
  gpgKey: '^([A-Fa-f0-9]{8,40}|[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+)$',
} as const;

export type PatternName = keyof typeof PATTERNS;

export const REGEX: { readonly [K in PatternName]: RegExp } = Object.fromEntries(
  Object.entries(PATTERNS).map(([name, source]) => [name, new RegExp(source)]),
) as { [K in PatternName]: RegExp };
