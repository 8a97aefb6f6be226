#!/usr/bin/env bash
# Installs every test-only tool, pinned and cached by version outside the source tree, under
# ${GKE_BATCH_TOOLS:-$HOME/.cache/gke-batch/tools}. Idempotent: a second run checks and returns.
# test/support/tools.ts computes the same paths (keep the key logic of both in step).
#
#   bash scripts/test-tools.sh [PART...]     PART: node python go browser docker pulumi kubernetes keda (default: all)
#   bash scripts/test-tools.sh --node-bin    prints the folder of the Node 24 to put first on PATH
#
#   node    Node 24 (the runtime CI tests on), from the npm registry's per-platform binary package,
#           when the first `node` on PATH is not v24.
#   python  a venv with test/python/requirements.txt (python-task-queue, pandas, pyarrow, ...),
#           keyed by a hash of that file: python-<key>/.
#   go      fake-gcs-server, pstest (Google's Pub/Sub fake, through our wrapper) and toxiproxy-server,
#           built with the Go module proxy from the wrapper modules in test/go/<name>/ (their go.mod
#           and go.sum pin every module): <name>-<version>-<key>/<name>.
#   browser Debian's chromium (headless, for the dashboard's browser tests through playwright-core), with
#           apt-get when /usr/bin/chromium is missing (needs root; skipped with a note outside CI otherwise).
#           From scratch on the project's machine (load average ≈14): 40 s, apt-get update included.
#   docker  a Docker daemon for the image tests (scripts/ci-docker.sh; needs root). Skipped with a
#           note outside CI when no daemon answers and this is not root.
#   pulumi  the Pulumi CLI at @pulumi/pulumi's version and the Kubernetes provider plugin, built the
#           same way from test/go/pulumi and test/go/pulumi-resource-kubernetes (the real deploy test).
#   kubernetes  one binary with etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
#           kubelet (test/go/kubernetes), plus Debian's containerd, runc and CNI plugins (apt, as
#           root; skipped with a note when not root outside CI).
#   keda    KEDA's operator and metrics adapter (test/go/keda), for the real continuous-mode test:
#           one folder keda-<version>-<key>/keda/ holding both commands.
#
# Time on the project's 2-core machine, from scratch (empty tools folder, GOCACHE and GOMODCACHE, no
# pip or npm cache), nothing else running (2026-12-02):
#   parts node python go browser docker: 143 s (the three small Go tools 92 s of it);
#   parts go pulumi kubernetes: 769 s (Pulumi CLI 156 s, its Kubernetes provider 318 s, Kubernetes
#   203 s, the small Go tools 92 s), apt-get included; so all parts ≈ 14 min. Cached: under 1 s.
# All parts from scratch with KEDA (2026-12-03, three other sessions benchmarking beside it, load
# 5-11): 40m40s wall; Pulumi CLI 435 s, its Kubernetes provider 1129 s, Kubernetes 251 s, KEDA 384 s
# (it shares most of its modules and packages with the Pulumi and Kubernetes builds).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${GKE_BATCH_TOOLS:-$HOME/.cache/gke-batch/tools}
NODE_VERSION=24.22.3
# sha512 of the npm registry's node-linux-<arch>@NODE_VERSION tarballs (as `npm view ... dist.integrity`).
NODE_INTEGRITY_x64=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE_INTEGRITY_arm64=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
PYTHON=${PYTHON:-python3}
# name | module whose version names the cache folder | package to build (relative: the wrapper's own)
#      | optional -X linker setting, @VERSION@ = that module's version without its "v"
#      | optional files of that module copied beside the wrapper's sources before building (a tool of
#        several commands: into its folder)
GO_TOOLS=(
  "fake-gcs-server|github.com/fsouza/fake-gcs-server|github.com/fsouza/fake-gcs-server"
  "pstest|cloud.google.com/go/pubsub/v2|."
  "toxiproxy-server|github.com/Shopify/toxiproxy/v2|github.com/Shopify/toxiproxy/v2/cmd/server"
)
PULUMI=github.com/pulumi/pulumi
K8S_PROVIDER=github.com/pulumi/pulumi-kubernetes/provider/v4
# The provider's command embeds these two files (test/go/pulumi-resource-kubernetes/main.go).
K8S_PROVIDER_FILES="cmd/pulumi-resource-kubernetes/schema.json cmd/pulumi-resource-kubernetes/terraform-mapping.json"
PULUMI_TOOLS=(
  "pulumi|$PULUMI/pkg/v3|$PULUMI/pkg/v3/cmd/pulumi|$PULUMI/sdk/v3/go/common/version.Version=v@VERSION@"
  "pulumi-resource-kubernetes|$K8S_PROVIDER|.|$K8S_PROVIDER/pkg/version.Version=@VERSION@|$K8S_PROVIDER_FILES"
)
KUBERNETES_TOOLS=(
  "kubernetes|k8s.io/kubernetes|."
)
# Two commands of one module: built together (they share almost every package) into one folder.
KEDA=github.com/kedacore/keda/v2
KEDA_CRDS="config/crd/bases/keda.sh_scaledobjects.yaml config/crd/bases/keda.sh_scaledjobs.yaml"
KEDA_CRDS+=" config/crd/bases/keda.sh_triggerauthentications.yaml config/crd/bases/keda.sh_clustertriggerauthentications.yaml"
KEDA_CRDS+=" config/crd/bases/eventing.keda.sh_cloudeventsources.yaml"
KEDA_CRDS+=" config/crd/bases/eventing.keda.sh_clustercloudeventsources.yaml"
KEDA_TOOLS=(
  "keda|$KEDA|$KEDA/cmd/operator $KEDA/cmd/adapter|$KEDA/version.Version=v@VERSION@|$KEDA_CRDS"
)
# Debian packages the local cluster's node needs (the container runtime and the CNI plugins).
KUBERNETES_APT=(containerd runc containernetworking-plugins iptables)

say() { printf 'test-tools: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

# First 12 hex digits of the sha256 of the given files' contents, in the given order (tools.ts: same).
content_key() { cat "$@" | sha256sum | cut -c1-12; }

# Serialises work on one cache entry between concurrent runs (several people share a machine).
with_lock() {
  local name=$1
  shift
  mkdir -p "$TOOLS"
  if command -v flock >/dev/null 2>&1; then
    (
      flock 9
      "$@"
    ) 9>"$TOOLS/.$name.lock"
  else
    "$@"
  fi
}

node_is_24() { [[ "$("${1:-node}" --version 2>/dev/null)" == v24.* ]]; }

node_bin_dir() {
  if node_is_24 node; then
    dirname "$(command -v node)"
  else
    echo "$TOOLS/node-v$NODE_VERSION/bin"
  fi
}

# A subshell body, so its EXIT trap removes the scratch folder however it ends.
install_node() (
  local dest="$TOOLS/node-v$NODE_VERSION"
  if node_is_24 node; then
    say "node: $(command -v node) is $(node --version); nothing to install"
    return
  fi
  if node_is_24 "$dest/bin/node"; then
    say "node: $("$dest/bin/node" --version) at $dest/bin/node (cached)"
    return
  fi
  [[ "$(uname -s)" == Linux ]] || die "node: no Node 24 on PATH; install Node $NODE_VERSION yourself (the registry's binary packages used here are Linux ones)"
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "node: no Node binary package for $(uname -m); install Node 24 yourself" ;;
  esac
  local integrity_var="NODE_INTEGRITY_$arch"
  local work
  work=$(mktemp -d "$TOOLS/.node.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  say "node: fetching node-linux-$arch@$NODE_VERSION with npm pack"
  (cd "$work" && npm pack "node-linux-$arch@$NODE_VERSION" --silent >/dev/null) || die "node: npm pack node-linux-$arch@$NODE_VERSION failed"
  local tarball="$work/node-linux-$arch-$NODE_VERSION.tgz"
  local actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  [[ "$actual" == "${!integrity_var}" ]] || die "node: $tarball has integrity $actual, expected ${!integrity_var}"
  tar -xzf "$tarball" -C "$work"
  node_is_24 "$work/package/bin/node" || die "node: the unpacked binary does not run or is not v24"
  rm -rf "$dest"
  mv "$work/package" "$dest"
  say "node: installed $("$dest/bin/node" --version) at $dest/bin/node"
)

python_venv_dir() { echo "$TOOLS/python-$(content_key "$ROOT/test/python/requirements.txt")"; }

install_python() {
  local requirements="$ROOT/test/python/requirements.txt"
  local venv
  venv=$(python_venv_dir)
  # Complete (marked with a copy of the requirements it was built from) and its interpreter still runs.
  if cmp -s "$requirements" "$venv/.installed" && "$venv/bin/python" -c '' 2>/dev/null; then
    say "python: $venv (cached)"
    return
  fi
  command -v "$PYTHON" >/dev/null 2>&1 || die "python: $PYTHON is not installed (Python 3.11+ with venv)"
  # A venv cannot be moved (its scripts name their own path), so it is built in place and marked
  # complete last; a half-built one from an interrupted run is removed first.
  rm -rf "$venv"
  say "python: creating $venv from $("$PYTHON" --version 2>&1) and test/python/requirements.txt"
  "$PYTHON" -m venv "$venv"
  local log="$venv/pip-install.log"
  if ! "$venv/bin/python" -m pip install --no-input --disable-pip-version-check --require-virtualenv \
    -r "$requirements" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -rf "$venv"
    die "python: pip install -r test/python/requirements.txt failed (output above)"
  fi
  "$venv/bin/python" -c 'import taskqueue, pandas, pyarrow' || die "python: the venv cannot import taskqueue, pandas and pyarrow"
  cp "$requirements" "$venv/.installed"
  say "python: installed $venv"
}

# The version the wrapper module's go.mod requires of MODULE (tools.ts reads it the same way).
go_module_version() {
  local dir=$1 module=$2
  awk -v module="$module" '$1 == module && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == module { print $3; exit }' "$dir/go.mod"
}

go_tool_dir() {
  local name=$1 module=$2
  local src="$ROOT/test/go/$name"
  local version key
  version=$(go_module_version "$src" "$module")
  [[ -n "$version" ]] || die "go: test/go/$name/go.mod does not require $module"
  # go.mod, go.sum, then the wrapper's own .go files in name order.
  key=$(content_key "$src/go.mod" "$src/go.sum" $(cd "$src" && LC_ALL=C ls -- *.go 2>/dev/null | sed "s|^|$src/|"))
  echo "$TOOLS/$name-$version-$key"
}

install_go_tool() (
  local name=$1 module=$2 package=$3 ldflag=${4:-} copies=${5:-}
  local dest
  dest=$(go_tool_dir "$name" "$module")
  if [[ -x "$dest/$name" ]]; then
    say "go: $dest/$name (cached)"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go: the go command is not installed (Go 1.24+)"
  local work version
  version=$(go_module_version "$ROOT/test/go/$name" "$module")
  work=$(mktemp -d "$TOOLS/.$name.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # Built from a copy, so files taken from the module never land in the source tree.
  cp -R "$ROOT/test/go/$name" "$work/src"
  cd "$work/src"
  export GOFLAGS=-trimpath GOWORK=off CGO_ENABLED=0
  local packages copy_to="$work/src" output="$work/$name"
  read -r -a packages <<<"$package"
  # Several packages: a folder named after the tool, one command per package in it, and the copied
  # files beside them (for the tests, not embedded).
  if ((${#packages[@]} > 1)); then
    output="$work/$name/"
    copy_to="$work/$name"
    mkdir -p "$copy_to"
  fi
  if [[ -n "$copies" ]]; then
    local dir file
    dir=$(go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [[ -d "$dir" ]] || die "go: cannot download $module for $name"
    for file in $copies; do install -m 644 "$dir/$file" "$copy_to/$(basename "$file")"; done
  fi
  local ldflags="-s -w"
  [[ -z "$ldflag" ]] || ldflags+=" -X ${ldflag//@VERSION@/${version#v}}"
  say "go: building $name ($module $version)"
  local started=$SECONDS
  nice -n 10 go build -mod=readonly -ldflags "$ldflags" -o "$output" "${packages[@]}" || die "go: building $name failed"
  cd "$TOOLS"
  rm -rf "$work/src" "$dest"
  mv "$work" "$dest"
  chmod 755 "$dest"
  say "go: built $dest/$name in $((SECONDS - started)) s"
)

install_go() {
  local spec name module package ldflag copies
  for spec in "$@"; do
    IFS='|' read -r name module package ldflag copies <<<"$spec"
    with_lock "$name" install_go_tool "$name" "$module" "$package" "$ldflag" "$copies"
  done
}

install_browser() {
  if [[ -x /usr/bin/chromium ]]; then
    say "browser: $(/usr/bin/chromium --version 2>/dev/null | head -n1) (installed)"
    return
  fi
  if [[ "$(id -u)" != 0 ]]; then
    in_ci && die "browser: chromium is missing and this is not root: apt-get install chromium"
    say "browser: chromium is missing and this is not root: the dashboard's browser tests will be skipped" \
      "(sudo apt-get install chromium)"
    return
  fi
  local log
  log=$(mktemp -t apt-chromium.XXXXXX.log)
  say "browser: installing Debian's chromium with apt-get"
  if ! { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "browser: apt-get install chromium failed (output above)"
  fi
  rm -f "$log"
  say "browser: installed $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
}

in_ci() { [[ -n "${CI:-}" && "${CI}" != 0 && "${CI,,}" != false ]]; }

install_docker() {
  if docker info >/dev/null 2>&1; then
    say "docker: a daemon answers"
  elif [[ "$(id -u)" == 0 ]] || in_ci; then
    bash "$ROOT/scripts/ci-docker.sh"
    say "docker: daemon started"
  else
    say "docker: no daemon answers and this is not root: the image tests will be skipped (CI runs them)"
  fi
}

# The node's container runtime and CNI plugins, from Debian (the binary itself is a Go tool above).
install_kubernetes_packages() {
  local missing=() package
  for package in "${KUBERNETES_APT[@]}"; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    say "kubernetes: ${KUBERNETES_APT[*]} installed"
  elif [[ "$(id -u)" == 0 ]]; then
    say "kubernetes: apt-get install ${missing[*]}"
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}")
    "${install[@]}" >/dev/null || { apt-get update -qq && "${install[@]}" >/dev/null; } ||
      die "kubernetes: apt-get install ${missing[*]} failed"
  elif in_ci; then
    die "kubernetes: ${missing[*]} missing and this is not root"
  else
    say "kubernetes: ${missing[*]} missing and this is not root: the real deploy test will be skipped"
  fi
}

main() {
  if [[ "${1:-}" == --node-bin ]]; then
    node_bin_dir
    return
  fi
  local parts=("$@")
  ((${#parts[@]} > 0)) || parts=(node python go browser docker pulumi kubernetes keda)
  local part
  for part in "${parts[@]}"; do
    case "$part" in
      node) with_lock node install_node ;;
      python) with_lock python install_python ;;
      go) install_go "${GO_TOOLS[@]}" ;;
      browser) with_lock browser install_browser ;;
      docker) install_docker ;;
      pulumi) install_go "${PULUMI_TOOLS[@]}" ;;
      kubernetes)
        install_go "${KUBERNETES_TOOLS[@]}"
        install_kubernetes_packages
        ;;
      keda) install_go "${KEDA_TOOLS[@]}" ;;
      *) die "unknown part '$part' (node, python, go, browser, docker, pulumi, kubernetes, keda)" ;;
    esac
  done
}

main "$@"
