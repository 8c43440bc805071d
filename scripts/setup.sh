#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu or Rocky/Fedora machine to a working state: the system tools the
# pipeline runs for real (createrepo_c, rpmbuild, dnf with its repoclosure plugin, libsolv's installcheck,
# xorriso for ISO images, rsync, gpg, mktorrent, hardlink, git, and
# Graphviz for `releng graph --format svg`), then
# the npm dependencies. Quick and silent about what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package, RPM package
TOOLS=(
  "createrepo_c createrepo-c createrepo_c"
  "modifyrepo_c createrepo-c createrepo_c"
  "rpmbuild rpm rpm-build"
  "rpmsign rpm rpm-sign"
  "dnf dnf dnf"
  "rsync rsync rsync"
  "gpg gnupg gnupg2"
  "mktorrent mktorrent mktorrent"
  "hardlink util-linux util-linux"
  "git git git"
  "modulemd-validator libmodulemd-tools libmodulemd"
  "dot graphviz graphviz"
  "xorriso xorriso xorriso"
  "installcheck libsolv-tools libsolv-tools"
)

missing_deb=() missing_rpm=() missing_cmds=()
for entry in "${TOOLS[@]}"; do
  read -r cmd deb rpm <<<"$entry"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing_cmds+=("$cmd") missing_deb+=("$deb") missing_rpm+=("$rpm")
  fi
done

# dnf repoclosure is a plugin command, not a binary of its own.
if command -v dnf >/dev/null 2>&1 && ! dnf repoclosure --help >/dev/null 2>&1; then
  missing_cmds+=("dnf-repoclosure") missing_deb+=("dnf-plugins-core") missing_rpm+=("dnf-plugins-core")
fi

if ((${#missing_cmds[@]})); then
  echo "setup: installing system packages for: ${missing_cmds[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "setup: need root (or passwordless sudo) to install: ${missing_cmds[*]}" >&2
      echo "setup: install them yourself, then rerun npm run setup" >&2
      exit 1
    fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    mapfile -t pkgs < <(printf '%s\n' "${missing_deb[@]}" | sort -u)
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  elif command -v dnf >/dev/null 2>&1; then
    mapfile -t pkgs < <(printf '%s\n' "${missing_rpm[@]}" | sort -u)
    # mktorrent lives in EPEL on Rocky; enable it when it is available.
    $sudo dnf install -y -q epel-release >/dev/null 2>&1 || true
    $sudo dnf install -y -q "${pkgs[@]}"
  else
    echo "setup: no apt-get or dnf on this machine; install these yourself: ${missing_cmds[*]}" >&2
    exit 1
  fi
  for cmd in "${missing_cmds[@]}"; do
    [ "$cmd" = dnf-repoclosure ] && { dnf repoclosure --help >/dev/null 2>&1 || { echo "setup: dnf repoclosure is still missing after the install" >&2; exit 1; }; continue; }
    command -v "$cmd" >/dev/null 2>&1 || { echo "setup: $cmd is still missing after the install" >&2; exit 1; }
  done
fi

# The AWS emulator the contract tests (test/contracts) run against, and the template linter CI
# runs over every synthesized variant: from PyPI, only where missing.
py_missing=()
command -v moto_server >/dev/null 2>&1 || py_missing+=("moto[server]==5.2.1")
command -v cfn-lint >/dev/null 2>&1 || py_missing+=("cfn-lint==1.51.0")
if ((${#py_missing[@]})); then
  echo "setup: pip install ${py_missing[*]}"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    echo "setup: need python3 with pip to install: ${py_missing[*]}" >&2
    exit 1
  fi
  pip_args=(install --quiet --disable-pip-version-check)
  # A Python without a virtualenv of its own gets a per-user install (~/.local/bin).
  [ -n "${VIRTUAL_ENV:-}" ] || [ -w "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" ] ||
    pip_args+=(--user)
  # Debian's system Python refuses pip installs (PEP 668) unless told.
  if python3 -c 'import sys, sysconfig, os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED")))'; then
    pip_args+=(--user --break-system-packages)
  fi
  python3 -m pip "${pip_args[@]}" "${py_missing[@]}"
  export PATH="$PATH:$(python3 -m site --user-base)/bin"
  for cmd in moto_server cfn-lint; do
    command -v "$cmd" >/dev/null 2>&1 || {
      echo "setup: $cmd is still missing after pip install; add $(python3 -m site --user-base)/bin to PATH" >&2
      exit 1
    }
  done
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.releng-setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
# The prebuilt releng and releng-host bundles (bin/*.mjs rebuild them too when a source changed).
node bin/bundle.mjs
echo "setup: ready (node $(node --version), $(createrepo_c --version | head -1), $(rsync --version | head -1 | cut -d' ' -f1-4))"
