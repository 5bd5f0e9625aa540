#!/usr/bin/env bash
# The emulated Raspberry Pi check: the project's edge install (onnxruntime, and LiteRT with [tflite])
# in a Debian 12 arm64 root (Raspberry Pi OS Bookworm's userland, Python 3.11) under qemu-user 10,
# as a Cortex-A72 (Pi 4) and a Cortex-A76 (Pi 5). In each: dae-edge verify (checksums and golden
# outputs of every shipped model), dae-edge demo, and every shipped artifact run on the golden images,
# compared with this machine's outputs within the export gate's tolerances. Exits non-zero on any
# difference or crash. Needs root (apt, binfmt_misc, chroot) and the package index.
#
#   tools/check-aarch64.sh                       # both CPUs
#   DAE_EDGE_CPUS=cortex-a72 tools/check-aarch64.sh
#   DAE_EDGE_ORT="onnxruntime==1.21.0" tools/check-aarch64.sh   # force a runtime version (the known-bad one)
#
# Cached between runs in $DAE_EDGE_ARM_CACHE (default ~/.cache/dae-edge-aarch64): qemu, the arm64 root
# as a tarball, pip's wheel cache. The root is unpacked fresh for every run and the project installed
# into it anew, so a cache never stands in for a check.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${DAE_EDGE_ARM_CACHE:-$HOME/.cache/dae-edge-aarch64}
cpus=${DAE_EDGE_CPUS:-cortex-a72 cortex-a76}
ort=${DAE_EDGE_ORT:-}
mkdir -p "$cache/pip"
work=$(mktemp -d)
root="$work/root"
binfmt=/proc/sys/fs/binfmt_misc
entry=dae-edge-aarch64
paused=""

cleanup() {
    for m in "$root/proc" "$root/sys" "$root/dev" "$root/root/.cache/pip"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
    [ -e "$binfmt/$entry" ] && echo -1 > "$binfmt/$entry"
    [ -n "$paused" ] && echo 1 > "$binfmt/$paused"
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "== $*"; }

say "tools: mmdebstrap, zstd, and Debian's qemu-user-static (mmdebstrap runs the root's package scripts with it)"
command -v mmdebstrap >/dev/null && command -v zstd >/dev/null && [ -x /usr/bin/qemu-aarch64-static ] ||
    { apt-get update -qq && apt-get install -y -qq mmdebstrap zstd qemu-user-static binfmt-support >/dev/null; }

say "qemu-user 10 from bookworm-backports (Debian 12's own 7.2 hands the guest the host's /proc/cpuinfo)"
qemu="$cache/qemu/usr/bin/qemu-aarch64"
if [ ! -x "$qemu" ]; then
    apt_dir="$work/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$cache/qemu"
    echo "deb http://deb.debian.org/debian bookworm-backports main" > "$apt_dir/sources.list"
    opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives" -o Debug::NoLocking=1)
    apt-get "${opts[@]}" update -qq
    (cd "$apt_dir" && apt-get "${opts[@]}" download -qq -t bookworm-backports qemu-user)
    dpkg -x "$apt_dir"/qemu-user_*.deb "$cache/qemu"
fi
"$qemu" --version | head -1

say "arm64 root (Debian 12, Python 3)"
tarball="$cache/bookworm-arm64.tar.zst"
if [ ! -s "$tarball" ]; then
    mountpoint -q "$binfmt" || mount binfmt_misc -t binfmt_misc "$binfmt"
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    mmdebstrap --quiet --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$work/fresh.tar" http://deb.debian.org/debian
    zstd -q -T0 "$work/fresh.tar" -o "$tarball.part" && mv "$tarball.part" "$tarball" && rm "$work/fresh.tar"
fi
say "binfmt_misc: aarch64 ELF → $qemu (F: usable inside the chroot)"
mountpoint -q "$binfmt" || mount binfmt_misc -t binfmt_misc "$binfmt"
for other in qemu-aarch64 aarch64; do
    if [ -e "$binfmt/$other" ] && grep -q enabled "$binfmt/$other"; then echo 0 > "$binfmt/$other"; paused=$other; fi
done
[ -e "$binfmt/$entry" ] && echo -1 > "$binfmt/$entry"
echo ":$entry:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:$qemu:F" > "$binfmt/register"

mkdir -p "$root"
tar --zstd -xf "$tarball" -C "$root"
# This machine's extra CA certificates (a TLS-inspecting proxy), for pip inside the root
cat /usr/local/share/ca-certificates/*.crt >> "$root/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/root/.cache/pip"
mount --bind "$cache/pip" "$root/root/.cache/pip"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"  # XNNPACK reads the CPU list there, as on a Pi
mount --bind /dev "$root/dev"
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DEFAULT_TIMEOUT=180 ${QEMU_CPU:+QEMU_CPU=$QEMU_CPU} "$@"; }  # qemu reads it from each guest process

say "the working tree, installed as a Pi would: pip install '.[tflite]'"
mkdir -p "$root/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$root/src"
QEMU_CPU=cortex-a72 in_root python3 -m venv /venv
QEMU_CPU=cortex-a72 in_root /venv/bin/pip install -q --disable-pip-version-check "/src[tflite]"
if [ -n "$ort" ]; then  # past the project's own pins: to show what they keep users from
    QEMU_CPU=cortex-a72 in_root /venv/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall "$ort"
fi
in_root /venv/bin/pip list 2>/dev/null | grep -iE "^(onnxruntime|ai-edge-litert|numpy) " || true

say "reference outputs on this machine"
cat > "$work/outputs.py" <<'PY'
import sys
import numpy as np
from dae_edge.runtime.denoiser import SHIPPED, Denoiser, shipped_folder
from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.manifest import read_manifest

out = {}
try:
    folders = [(name, shipped_folder(name), read_manifest(shipped_folder(name))) for name in SHIPPED]
except DaeEdgeError as exc:
    sys.exit(f"error: {exc}")
for name, folder, manifest in folders:
    if manifest is None:
        continue
    with np.load(folder / "golden.npz") as golden:
        images = list(golden["inputs"][..., 0]) + ([golden["large_input"][0, ..., 0]] if "large_input" in golden.files else [])
    for entry in manifest["artifacts"]:
        file = entry["file"]
        for large in ("whole", "tiles"):
            try:
                results = Denoiser.load(folder / file, threads=1, large=large).denoise_list(images)
            except DaeEdgeError as exc:
                sys.exit(f"error: {exc}")
            for i, result in enumerate(results):
                out[f"{name}/{file}/{large}/{i}"] = result
np.savez(sys.argv[1], **out)
PY
cat > "$work/compare.py" <<'PY'
import sys
import numpy as np
from dae_edge.runtime.tolerances import FP32_MAX_ABS, INT8_MEAN_ABS

ref, arm = np.load(sys.argv[1]), np.load(sys.argv[2])
bad = [f"{key}: missing on one side" for key in sorted(set(ref.files) ^ set(arm.files))]
worst = 0.0
for key in sorted(set(ref.files) & set(arm.files)):
    d = np.abs(ref[key].astype(np.float64) - arm[key])
    worst = max(worst, float(d.max()))
    if ("int8" in key and d.mean() > INT8_MEAN_ABS) or ("int8" not in key and d.max() > FP32_MAX_ABS):
        bad.append(f"{key}: max {d.max():.3g}, mean {d.mean():.3g}")
print(f"{len(ref.files)} outputs compared with x86; largest difference {worst:.3g}")
sys.exit("differ from x86: " + "; ".join(bad[:10]) if bad else 0)
PY
python3 -m venv "$work/x86"
"$work/x86/bin/pip" install -q --disable-pip-version-check ".[tflite]"
"$work/x86/bin/python" "$work/outputs.py" "$work/x86.npz"
cp "$work/x86.npz" "$work/outputs.py" "$work/compare.py" "$root/tmp/"

compare='
import sys, numpy as np
from dae_edge.runtime.tolerances import FP32_MAX_ABS, INT8_MEAN_ABS
ref, arm = np.load(sys.argv[1]), np.load(sys.argv[2])
bad = sorted(set(ref.files) ^ set(arm.files))
for key in sorted(set(ref.files) & set(arm.files)):
    d = np.abs(ref[key].astype(np.float64) - arm[key])
    if ("int8" in key and d.mean() > INT8_MEAN_ABS) or ("int8" not in key and d.max() > FP32_MAX_ABS):
        bad.append(f"{key}: max {d.max():.3g}, mean {d.mean():.3g}")
worst = max(np.abs(ref[k].astype(np.float64) - arm[k]).max() for k in set(ref.files) & set(arm.files))
print(f"{len(ref.files)} outputs compared; largest difference {worst:.3g}")
sys.exit("differ from x86: " + "; ".join(bad[:10]) if bad else 0)
'
status=0
declare -A part=([cortex-a53]=0xd03 [cortex-a72]=0xd08 [cortex-a76]=0xd0b)  # as /proc/cpuinfo names them
for cpu in $cpus; do
    say "$cpu"
    seen=$(QEMU_CPU=$cpu in_root sh -c "grep -m1 'CPU part' /proc/cpuinfo" | awk '{print $NF}')
    if [ "$seen" != "${part[$cpu]:-?}" ]; then  # the emulator ignored QEMU_CPU: nothing below would be about $cpu
        echo "FAIL on $cpu: the emulated CPU reports part $seen, expected ${part[$cpu]:-a known CPU}"
        status=1
        continue
    fi
    if ! (QEMU_CPU=$cpu in_root sh -c "grep -m1 'CPU part' /proc/cpuinfo && cd /tmp && /venv/bin/dae-edge verify && \
          /venv/bin/dae-edge demo --out /tmp/demo >/dev/null && \
          for m in /venv/lib/python3*/site-packages/dae_edge/models/*.* /venv/lib/python3*/site-packages/dae_edge/models/*/*.*; do \
            case \$m in *.onnx|*.tflite) /venv/bin/dae-edge run /tmp/demo/noisy_0.png --model \$m --out /tmp/run --overwrite >/dev/null || exit 1;; esac; \
          done && /venv/bin/python outputs.py arm.npz && \
          /venv/bin/python compare.py x86.npz arm.npz"); then
        echo "FAIL on $cpu"
        status=1
    else
        echo "PASS on $cpu"
    fi
done
exit $status
