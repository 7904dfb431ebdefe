#!/bin/sh
# Builds the Debian package from a configured build folder, checks what it holds, installs
# it, and runs the installed program: --version must report the installed resources folder
# (not the source tree), and a small generation must work from the installed location.
# CI runs it as root after the tests; elsewhere the install step uses sudo.
#   scripts/package.sh [BUILD_DIR]     (default: build, as scripts/build.sh makes it)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "package.sh: $*" >&2; exit 1; }

# 1. The package (cpack builds what is missing first; in CI scripts/test.sh built it all).
(cd "$BUILD" && cpack -G DEB)
DEB=$(cd "$BUILD" && ls -t "$(pwd)"/latentstudio_*.deb | head -n 1)
echo "== $DEB"
dpkg-deb --info "$DEB"
DEPENDS=$(dpkg-deb --field "$DEB" Depends)
for needed in libtorch libdnnl2 libqt6widgets6 libqt6core6 libopencv-imgcodecs libopenblas0; do
  echo "$DEPENDS" | grep -q "$needed" || fail "the package does not depend on $needed: $DEPENDS"
done
dpkg-deb --contents "$DEB" > "$WORK/contents"
for path in ./usr/bin/latentstudio-cli ./usr/bin/latentstudio \
            ./usr/share/latentstudio/tokenizer/vocab.json ./usr/share/latentstudio/sd15/model_index.json \
            ./usr/share/applications/latentstudio.desktop \
            ./usr/share/metainfo/io.latentstudio.LatentStudio.metainfo.xml \
            ./usr/share/icons/hicolor/256x256/apps/latentstudio.png; do
  grep -q " $path\$" "$WORK/contents" || fail "the package lacks $path"
done
grep -q " ./usr/share/latentstudio/starter/unet/diffusion_pytorch_model.safetensors\$" "$WORK/contents" ||
  fail "the package lacks the starter model"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate packaging/latentstudio.desktop; fi
if command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net packaging/io.latentstudio.LatentStudio.metainfo.xml
fi

# 2. `cmake --install` to any prefix: the installed program finds its resources there, and
# still does after the whole prefix moves.
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
mv "$WORK/prefix" "$WORK/moved"
RESOURCES=$("$WORK/moved/bin/latentstudio-cli" --version | sed -n 's/^resources: //p')
[ "$RESOURCES" = "$WORK/moved/share/latentstudio" ] ||
  fail "a prefix install reads its resources from '$RESOURCES', not $WORK/moved/share/latentstudio"

# 3. The package itself, installed as a user would (apt resolves the dependencies).
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$DEB"
cd "$WORK"  # nothing of the source tree is at hand from here
/usr/bin/latentstudio-cli --version
RESOURCES=$(/usr/bin/latentstudio-cli --version | sed -n 's/^resources: //p')
[ "$RESOURCES" = /usr/share/latentstudio ] ||
  fail "the installed program reads its resources from '$RESOURCES', not /usr/share/latentstudio"
# Without --model the installed starter model draws, as in the README's first command.
/usr/bin/latentstudio-cli generate --prompt "a large red circle on a blue background in the center" \
  --steps 10 --seed 7 --out "$WORK/installed.png"
[ -s "$WORK/installed.png" ] || fail "the installed program wrote no image"
echo "package.sh: $(basename "$DEB") installs and draws with the installed starter model"
