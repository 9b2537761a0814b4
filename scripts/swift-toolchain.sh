#!/usr/bin/env bash
# Makes (or reuses) a Debian 13 "trixie" root with Debian's Swift toolchain (`swiftlang`: Swift 6.0.3 with
# Foundation, FoundationNetworking, XCTest and SwiftPM), in which scripts/test-swift.sh compiles and tests ios/.
# The host is Debian 12, whose libc is too old for that toolchain, hence a chroot rather than an apt install.
#
# The root lives outside the checkout: $FOOTFALL_SWIFT_ROOT, default /var/cache/footfall/swift-trixie (~2 GB).
# It is built in "$root.partial" and renamed only once everything is installed, and a marker file recording this
# recipe is written last, so an interrupted or failed run leaves nothing that a later run would reuse. A root whose
# marker names another recipe is rebuilt. Needs root (debootstrap, chroot); installs debootstrap if missing.
# Downloads from the Debian mirror apt already uses here ($FOOTFALL_DEBIAN_MIRROR overrides it).
#
# Prints the root's path on stdout (everything else goes to stderr).
#
# Usage: scripts/swift-toolchain.sh            make or reuse the root
#        scripts/swift-toolchain.sh --rebuild  throw the cached root away and make it again
set -euo pipefail

root=${FOOTFALL_SWIFT_ROOT:-/var/cache/footfall/swift-trixie}
suite=trixie
packages="swiftlang libc6-dev"   # gcc only recommends libc6-dev; Swift's Glibc module needs its headers
# Bump when the recipe changes so cached roots made by an older recipe are rebuilt.
recipe="footfall-swift-root v1: debootstrap --variant=minbase $suite; apt-get install --no-install-recommends $packages"
marker_name=.footfall-swift-root-ready

log() { echo "swift-toolchain: $*" >&2; }
die() { log "$*"; exit 1; }

rebuild=0
case "${1:-}" in
    "") ;;
    --rebuild) rebuild=1 ;;
    *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap and chroot)"
[[ $root == /* && $root != / ]] || die "FOOTFALL_SWIFT_ROOT must be an absolute path other than / (got '$root')"

# Unmounts everything mounted at or below a directory (deepest first): a killed test-swift.sh may leave bind
# mounts behind, and rm -rf must never walk into a bind-mounted checkout or /dev.
unmount_below() {
    local dir=$1 mp
    # /proc/self/mounts escapes spaces as \040; our paths have none, a mismatch only means nothing is unmounted.
    while read -r mp; do
        umount -l "$mp" 2>/dev/null || true
    done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
}

is_ready() {
    [[ -f $root/$marker_name ]] && [[ $(cat "$root/$marker_name") == "$recipe" ]] &&
        [[ -x $root/usr/bin/swift || -L $root/usr/bin/swift ]]
}

mkdir -p "$(dirname "$root")"
# One maker at a time: a second run waits, then finds the root ready.
exec 9>"$root.lock"
flock 9

if [[ $rebuild -eq 1 ]]; then
    unmount_below "$root"
    rm -rf --one-file-system "$root"
fi

if is_ready; then
    log "reusing $root ($(cat "$root/$marker_name"))"
    echo "$root"
    exit 0
fi

start=$(date +%s)
if [[ -e $root ]]; then
    log "$root exists but is incomplete or from another recipe: rebuilding it"
    unmount_below "$root"
    rm -rf --one-file-system "$root"
fi

export DEBIAN_FRONTEND=noninteractive
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if ! command -v debootstrap >/dev/null || [[ ! -f $keyring ]]; then
    # debian-archive-keyring is already there on Debian; an Ubuntu host needs it to check trixie's signatures.
    log "installing debootstrap and debian-archive-keyring"
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >&2
fi

# The mirror apt uses here: first deb.debian.org-style URI of the main archive in the deb822 or one-line sources.
mirror=${FOOTFALL_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
fi
if [[ -z $mirror ]]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }')
fi
if [[ -z $mirror ]]; then
    # Not a Debian host (an Ubuntu CI runner, say): Debian's own mirror.
    mirror=http://deb.debian.org/debian
    log "no Debian mirror in /etc/apt/sources.list*: using $mirror (set FOOTFALL_DEBIAN_MIRROR to choose)"
fi
mirror=${mirror%/}

partial="$root.partial"
unmount_below "$partial"
rm -rf --one-file-system "$partial"
mkdir -p "$partial"

log "debootstrap $suite from $mirror into $partial (a few minutes)"
if ! debootstrap --variant=minbase --keyring="$keyring" "$suite" "$partial" "$mirror" > "$partial.debootstrap.log" 2>&1; then
    tail -n 30 "$partial.debootstrap.log" >&2
    [[ -f $partial/debootstrap/debootstrap.log ]] && tail -n 30 "$partial/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log: $partial.debootstrap.log)"
fi
rm -f "$partial.debootstrap.log"

cleanup_partial_mounts() { unmount_below "$partial"; }
trap cleanup_partial_mounts EXIT
mount -t proc proc "$partial/proc"
cp /etc/resolv.conf "$partial/etc/resolv.conf" 2>/dev/null || true

log "installing $packages in the root (~500 MB download)"
chroot "$partial" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages && apt-get clean" >&2

# Fail here, not in the first test run, if the toolchain is not usable.
chroot "$partial" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root swift --version >&2 ||
    die "swift does not run in the new root"
cleanup_partial_mounts
trap - EXIT

mv "$partial" "$root"
echo "$recipe" > "$root/$marker_name"
log "made $root in $(($(date +%s) - start)) s"
echo "$root"
