import { Aws } from 'aws-cdk-lib';

/**
 * The first-boot script of a compose host the stack creates (EC2 user data, run once by
 * cloud-init): the SSM agent, the compose toolchain, then the EFS mounts. Every step that
 * talks to the network retries; anything still missing at the end fails the script, which
 * cloud-init reports as an error (`cloud-init status` says `error`).
 */

/** What the seed's scripts run on a compose host, installed from BaseOS, AppStream and EPEL. */
export const TOOLCHAIN_PACKAGES = [
  'pungi',
  'createrepo_c',
  'dnf-plugins-core',
  'rsync',
  'gnupg2',
  'rpm-sign',
  'mktorrent',
  'util-linux',
  'git',
] as const;

/** Commands the toolchain must provide; the script fails naming any that is missing. */
export const REQUIRED_COMMANDS = [
  'pungi-koji',
  'createrepo_c',
  'modifyrepo_c',
  'rsync',
  'gpg2',
  'rpmsign',
  'mktorrent',
  'hardlink',
  'git',
  'node',
  'mount.efs',
  'mountpoint',
  'findmnt',
] as const;

/** One EFS tree as the host mounts it: through its access point, over TLS, as the host role. */
export interface EfsMount {
  readonly mountPoint: string;
  readonly fileSystemId: string;
  readonly accessPointId: string;
}

/** EFS mount options: TLS (efs-utils' stunnel/proxy), IAM authorization, the tree's access point. */
export const efsMountOptions = (accessPointId: string) =>
  `_netdev,noresvport,tls,iam,accesspoint=${accessPointId}`;

/**
 * Shell helpers every step uses. `retry ATTEMPTS COMMAND…` reruns a failing command with a
 * doubling pause (5 s, capped at 60 s); `require_commands NAME…` fails listing every missing one.
 */
export const BOOTSTRAP_HELPERS = [
  'retry() {',
  '  local attempts=$1 n=1 delay=5',
  '  shift',
  '  until "$@"; do',
  '    if [ "$n" -ge "$attempts" ]; then',
  '      echo "releng-bootstrap: gave up after $n attempts: $*" >&2',
  '      return 1',
  '    fi',
  '    echo "releng-bootstrap: attempt $n of $attempts failed: $*; next in $delay seconds" >&2',
  '    sleep "$delay"',
  '    n=$((n + 1))',
  '    delay=$((delay * 2 > 60 ? 60 : delay * 2))',
  '  done',
  '}',
  'require_commands() {',
  "  local missing='' c",
  '  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done',
  '  if [ -n "$missing" ]; then',
  '    echo "releng-bootstrap: missing after install:$missing" >&2',
  '    return 1',
  '  fi',
  '}',
];

/**
 * The SSM agent: Rocky AMIs may not ship it, and without it no association or command ever
 * reaches the host. Installed from the regional bucket for the host's architecture.
 */
export function ssmAgentCommands(): string[] {
  const url = `https://s3.${Aws.REGION}.${Aws.URL_SUFFIX}/amazon-ssm-${Aws.REGION}/latest/linux_$ssm_arch/amazon-ssm-agent.rpm`;
  return [
    'if ! systemctl is-enabled amazon-ssm-agent >/dev/null 2>&1; then',
    '  case "$(uname -m)" in',
    '    x86_64) ssm_arch=amd64 ;;',
    '    aarch64) ssm_arch=arm64 ;;',
    '    *) echo "releng-bootstrap: no SSM agent build for $(uname -m)" >&2; exit 1 ;;',
    '  esac',
    `  retry 5 dnf -y install "${url}"`,
    'fi',
    'systemctl enable --now amazon-ssm-agent',
    'systemctl is-active --quiet amazon-ssm-agent',
  ];
}

/** The compose toolchain, Node.js 20 for releng-host, and amazon-efs-utils for the mounts. */
export function toolchainCommands(): string[] {
  return [
    'retry 5 dnf -y install dnf-plugins-core epel-release',
    // EPEL builds against PowerTools (EL8; CRB on EL9).
    'dnf config-manager --set-enabled powertools || dnf config-manager --set-enabled crb',
    `retry 5 dnf -y install ${TOOLCHAIN_PACKAGES.join(' ')} /usr/bin/hardlink`,
    'retry 5 dnf -y module install nodejs:20/common',
    'install_efs_utils() {',
    '  dnf -y install amazon-efs-utils && return 0',
    // Not in the EL repositories: AWS's installer of its pre-built package (aws/efs-utils INSTALL.md).
    "  curl --proto '=https' --tlsv1.2 -fsSL -o /var/tmp/efs-utils-installer.sh https://amazon-efs-utils.aws.com/efs-utils-installer.sh",
    '  sh /var/tmp/efs-utils-installer.sh --install',
    '}',
    'retry 5 install_efs_utils',
    `require_commands ${REQUIRED_COMMANDS.join(' ')}`,
    'dnf repoclosure --help >/dev/null',
    `node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'`,
  ];
}

/**
 * Each tree in /etc/fstab (so reboots keep it) and mounted now, retried while the mount
 * targets and DNS settle; then every mount point must be an NFS mount, or the script fails.
 */
export function efsMountCommands(mounts: readonly EfsMount[]): string[] {
  const lines = [
    'mount_tree() {',
    '  local fs=$1 ap=$2 dir=$3 opts',
    `  opts="${efsMountOptions('$ap')}"`,
    '  mkdir -p "$dir"',
    `  grep -q " $dir efs " /etc/fstab || echo "$fs $dir efs $opts 0 0" >> /etc/fstab`,
    '  mountpoint -q "$dir" || mount -t efs -o "$opts" "$fs" "$dir"',
    '}',
    'mount_trees() {',
    ...mounts.map((m) => `  mount_tree ${m.fileSystemId} ${m.accessPointId} ${m.mountPoint} || return 1`),
    '}',
    'retry 10 mount_trees',
  ];
  for (const m of mounts) {
    lines.push(
      `mountpoint -q ${m.mountPoint} && findmnt -n -t nfs4 --mountpoint ${m.mountPoint} >/dev/null || ` +
        `{ echo "releng-bootstrap: ${m.mountPoint} is not mounted from EFS" >&2; exit 1; }`,
    );
  }
  return lines;
}

/** The whole first-boot script, in order: agent, toolchain, mounts. */
export function bootstrapCommands(mounts: readonly EfsMount[]): string[] {
  return [
    'set -euo pipefail',
    `trap 'echo "releng-bootstrap: failed at line $LINENO" >&2' ERR`,
    ...BOOTSTRAP_HELPERS,
    ...ssmAgentCommands(),
    ...toolchainCommands(),
    ...efsMountCommands(mounts),
    'echo "releng-bootstrap: agent, toolchain and EFS mounts ready"',
  ];
}
