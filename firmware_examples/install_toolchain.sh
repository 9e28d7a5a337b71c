#!/usr/bin/env bash
# Toolchain for firmware_examples/ and tests/test_export_c.py: the Arm bare-metal GCC,
# newlib (for memmove) and QEMU's Arm system emulator (mps2-an386 board), from Debian.
# Needs root (CI runs as root). Idempotent: does nothing when all three are installed.
set -euo pipefail
if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
    && [ -e /usr/lib/arm-none-eabi/newlib/thumb/v7e-m/nofp/libc_nano.a ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
