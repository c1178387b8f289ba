#!/usr/bin/env bash
# Release artifacts for VERSION, for linux-x64 and linux-arm64:
#   linux-ARCH/{hawser-agent,hawserctl}   NativeAOT native binaries (Debian's clang links; lld, the
#                                         aarch64 binutils, libc and libgcc cross-link arm64)
#   linux-ARCH/hawser-controller          self-contained, trimmed, ReadyToRun single file (not NativeAOT:
#                                         see the README's install section)
#   hawser-agent_VERSION_{amd64,arm64}.deb (and hawserctl, hawser-controller)  built with dpkg-deb
#   hawser-VERSION-linux-musl-x64.tar.gz  framework-dependent builds for musl hosts such as Alpine
#                                         (they run on the distribution's .NET), with the OpenRC scripts
#   hawser-VERSION-openrc.tar.gz          the OpenRC scripts alone, for the native binaries
#   SHA256SUMS
# With --sign-key, also for each architecture (what `hawserctl agent publish DIR` stores on the controller):
#   linux-ARCH/hawser-agent.release       version, arch, size and SHA-256 of the agent binary
#   linux-ARCH/hawser-agent.release.sig   the Ed25519 signature of that manifest, made with KEY
# and the key's public half is built into every binary (agents and controllers trust releases it signed).
# Installs the Debian packages the native builds need when they are missing (as root).
# Usage: packaging/build-release.sh VERSION [--out DIR] [--only NAME]... [--arch ARCH]... [--sign-key KEY]
#   --out DIR       default: artifacts/release/VERSION
#   --only NAME     build only this binary (hawser-agent, hawserctl, hawser-controller); repeatable
#   --arch ARCH     build only this architecture (x64, arm64); repeatable
#   --sign-key KEY  sign agent releases with this Ed25519 private key (PEM; openssl genpkey -algorithm ed25519)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

usage() { echo "usage: packaging/build-release.sh VERSION [--out DIR] [--only NAME]... [--arch x64|arm64]... [--sign-key KEY]" >&2; exit 64; }
[[ $# -ge 1 ]] || usage
case "$1" in -h|--help) sed -n '2,21p' "$0"; exit 0 ;; esac
version=$1
shift
out="$repo/artifacts/release/$version"
only=()
arches=()
sign_key=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) [[ $# -ge 2 ]] || usage; out=$(realpath -m "$2"); shift 2 ;;
        --only) [[ $# -ge 2 ]] || usage; only+=("$2"); shift 2 ;;
        --arch) [[ $# -ge 2 ]] || usage
            case "$2" in x64|arm64) arches+=("$2") ;; *) echo "error: --arch '$2': not one of x64, arm64" >&2; exit 64 ;; esac
            shift 2 ;;
        --sign-key) [[ $# -ge 2 ]] || usage; sign_key=$(realpath -m "$2"); shift 2 ;;
        *) usage ;;
    esac
done
[[ ${#arches[@]} -gt 0 ]] || arches=(x64 arm64)
# A Debian version and a .NET one at once: digits first, then letters, digits, '.', '+', '~' or '-'.
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+-][0-9A-Za-z.+~-]+)?$ ]]; then
    echo "error: VERSION '$version' must look like 1.2.3 or 1.2.3-rc1" >&2
    exit 64
fi
for tool in dotnet dpkg-deb tar gzip sha256sum; do
    command -v "$tool" > /dev/null || { echo "error: $tool is needed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
# NativeAOT links with clang; arm64 also needs lld, the aarch64 objcopy, and an arm64 libc and libgcc to link against.
needed=(clang)
[[ " ${arches[*]} " == *" arm64 "* ]] && needed+=(lld binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross)
missing=()
for package in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "==> apt-get install ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || { echo "error: ${missing[*]} must be installed (run as root, or apt-get install them)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hawser-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out"

# name project description
binaries=(
    "hawser-agent src/Agent/Agent.csproj Hawser agent: keeps a Docker host as its controller declares"
    "hawserctl src/Ctl/Ctl.csproj Hawser's command line for operators"
    "hawser-controller src/Controller/Controller.csproj Hawser controller: desired state, enrollment and the agent streams"
)
if [[ ${#only[@]} -gt 0 ]]; then
    chosen=()
    for name in "${only[@]}"; do
        match=$(printf '%s\n' "${binaries[@]}" | grep "^$name " || true)
        [[ -n $match ]] || { echo "error: --only '$name': not one of hawser-agent, hawserctl, hawser-controller" >&2; exit 64; }
        chosen+=("$match")
    done
    binaries=("${chosen[@]}")
fi
# Debian wants a reachable maintainer address; set HAWSER_MAINTAINER for a published build.
maintainer=${HAWSER_MAINTAINER:-Hawser maintainers <hawser@example.org>}
release_key=()
if [[ -n $sign_key ]]; then
    command -v openssl > /dev/null || { echo "error: --sign-key needs openssl" >&2; exit 1; }
    if ! openssl pkey -in "$sign_key" -noout -text 2>/dev/null | head -1 | grep -q '^ED25519 Private-Key'; then
        echo "error: --sign-key $sign_key: not an Ed25519 private key in PEM (make one with: openssl genpkey -algorithm ed25519 -out release.key)" >&2
        exit 64
    fi
    # The public half, as the 32 raw bytes in base64: the last 32 bytes of its DER.
    public_key=$(openssl pkey -in "$sign_key" -pubout -outform DER | tail -c 32 | base64 -w0)
    release_key=("-p:HawserReleaseKey=$public_key")
    echo "==> signing agent releases with key $(printf '%s' "$public_key" | base64 -d | sha256sum | cut -c1-16)"
fi
common=(-c Release -nologo -v quiet -warnaserror "-p:Version=${version%%[~+]*}" "-p:InformationalVersion=$version" -p:DebugType=none -p:GenerateDocumentationFile=false -p:SatelliteResourceLanguages=en "${release_key[@]}")

# The agent and hawserctl are NativeAOT; the controller (Kestrel, the web UI, SQLite) ships as a trimmed ReadyToRun single file.
native() { [[ $1 == hawser-agent || $1 == hawserctl ]]; }
for arch in "${arches[@]}"; do
    mkdir -p "$out/linux-$arch"
    cross=()
    [[ $arch == arm64 ]] && cross=(-p:CppCompilerAndLinker=clang -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy)
    for entry in "${binaries[@]}"; do
        read -r name project _ <<< "$entry"
        if native "$name"; then
            echo "==> $name: linux-$arch NativeAOT"
            dotnet publish "$project" "${common[@]}" -r "linux-$arch" -p:PublishAot=true -p:StripSymbols=true "${cross[@]}" \
                -o "$work/$arch/$name" | sed 's/^/    /'
        else
            echo "==> $name: linux-$arch self-contained, trimmed, ReadyToRun single file"
            dotnet publish "$project" "${common[@]}" -r "linux-$arch" --self-contained \
                -p:PublishSingleFile=true -p:PublishTrimmed=true -p:PublishReadyToRun=true -o "$work/$arch/$name" | sed 's/^/    /'
        fi
        install -m 0755 "$work/$arch/$name/$name" "$out/linux-$arch/$name"
        if [[ $name == hawser-agent && -n $sign_key ]]; then
            # What the signature covers: the binary is checked against this SHA-256 as it streams (see the README's agent upgrades).
            binary="$out/linux-$arch/$name"
            printf 'hawser-agent release\nversion: %s\narch: %s\nsize: %s\nsha256: %s\n' "$version" "$arch" "$(stat -c %s "$binary")" \
                "$(sha256sum "$binary" | cut -d' ' -f1)" > "$binary.release"
            openssl pkeyutl -sign -rawin -inkey "$sign_key" -in "$binary.release" -out "$binary.release.sig"
        fi
    done
done
for entry in "${binaries[@]}"; do
    read -r name project _ <<< "$entry"
    echo "==> $name: framework-dependent (portable) for musl hosts"
    portable="$work/musl/usr/lib/hawser/$name"
    dotnet publish "$project" "${common[@]}" --self-contained false -p:UseAppHost=false -o "$portable" | sed 's/^/    /'
    # A portable build carries native libraries (SQLite) for every platform; a musl host loads only these.
    if [[ -d $portable/runtimes ]]; then
        find "$portable/runtimes" -mindepth 1 -maxdepth 1 ! -name 'linux-musl-*' -exec rm -rf {} +
    fi
done

echo "==> .deb packages"
for arch in "${arches[@]}"; do
debarch=$([[ $arch == x64 ]] && echo amd64 || echo arm64)
for entry in "${binaries[@]}"; do
    read -r name _ description <<< "$entry"
    root="$work/deb/$arch/$name"
    install -D -m 0755 "$out/linux-$arch/$name" "$root/usr/bin/$name"
    install -d -m 0755 "$root/usr/share/doc/$name"
    # A version with a Debian revision (1.2.3-rc1) is a non-native package, whose changelog has another name.
    [[ $version == *-* ]] && changelog=changelog.Debian.gz || changelog=changelog.gz
    printf 'Hawser %s\nCopyright: the Hawser authors\nLicense: see the project repository.\n' "$version" > "$root/usr/share/doc/$name/copyright"
    printf '%s (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
        "$name" "$version" "$version" "$maintainer" "$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" \
        | gzip -9n > "$root/usr/share/doc/$name/$changelog"
    chmod 0644 "$root/usr/share/doc/$name/"*
    # The .NET runtime inside a self-contained binary has zlib built in (zlib-ng, statically linked
    # into its host); a binary from Microsoft's runtime packs cannot use Debian's libz instead.
    install -d -m 0755 "$root/usr/share/lintian/overrides"
    printf '%s: embedded-library zlib [usr/bin/%s]\n' "$name" "$name" > "$root/usr/share/lintian/overrides/$name"
    chmod 0644 "$root/usr/share/lintian/overrides/$name"
    install -d -m 0755 "$root/DEBIAN"
    unit="packaging/systemd/$name.service"
    if [[ -f $unit ]]; then
        # The package's binary lives in /usr/bin; `install` (not the package) uses /usr/local/bin.
        install -d -m 0755 "$root/lib/systemd/system"
        sed 's|/usr/local/bin/|/usr/bin/|g' "$unit" > "$root/lib/systemd/system/$name.service"
        chmod 0644 "$root/lib/systemd/system/$name.service"
        cat > "$root/DEBIAN/postinst" <<EOF
#!/bin/sh
# Makes systemd see the unit; starting it waits for the operator's settings in /etc/default/$name.
set -e
if [ "\$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
fi
EOF
        cat > "$root/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now $name.service >/dev/null 2>&1 || true
fi
EOF
        cat > "$root/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
fi
EOF
        chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
    fi
    cat > "$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $debarch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: libc6 (>= 2.27), libgcc-s1, libstdc++6, libssl3 | libssl1.1
Section: admin
Priority: optional
Description: $description
 Part of Hawser, which keeps a fleet of Docker hosts as one controller
 declares: sysctls, ufw's forward policy, NDP proxying, Docker's IPv6
 settings and certificate files. Self-contained: no .NET install needed.
EOF
    dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/${name}_${version}_${debarch}.deb" | sed 's/^/    /'
done
done

echo "==> OpenRC tarballs"
openrc="$work/openrc"
install -d "$openrc/etc/init.d" "$openrc/etc/conf.d"
for name in hawser-agent hawser-controller; do
    [[ -n $(printf '%s\n' "${binaries[@]}" | grep "^$name " || true) ]] || continue
    install -m 0755 "packaging/openrc/$name" "$openrc/etc/init.d/$name"
    # The settings each script documents in its header, as a conf.d file to fill in.
    sed -n 's/^#   \([A-Z_]*="[^"]*"\).*$/#\1/p' "packaging/openrc/$name" > "$openrc/etc/conf.d/$name"
done
tar --owner=0 --group=0 --sort=name -C "$openrc" -czf "$out/hawser-$version-openrc.tar.gz" etc
cp -a "$openrc/etc" "$work/musl/etc"
install -d "$work/musl/usr/local/bin"
for entry in "${binaries[@]}"; do
    read -r name _ <<< "$entry"
    printf '#!/bin/sh\n# Runs on the distribution'"'"'s .NET 10 runtime (Alpine: apk add aspnetcore10-runtime).\nexec dotnet /usr/lib/hawser/%s/%s.dll "$@"\n' "$name" "$name" > "$work/musl/usr/local/bin/$name"
    chmod 0755 "$work/musl/usr/local/bin/$name"
done
tar --owner=0 --group=0 --sort=name -C "$work/musl" -czf "$out/hawser-$version-linux-musl-x64.tar.gz" etc usr

(cd "$out" && sha256sum linux-*/* ./*.deb ./*.tar.gz | sed 's| \./| |' > SHA256SUMS)
echo "==> $out"
(cd "$out" && ls -l linux-* ./*.deb ./*.tar.gz | sed 's/^/    /')
