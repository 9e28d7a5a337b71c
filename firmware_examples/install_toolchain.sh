#!/usr/bin/env bash
# Toolchains the tests build with, from Debian:
#  - firmware_examples/ and tests/test_export_c.py: the Arm bare-metal GCC, newlib (for memmove)
#    and QEMU's Arm system emulator (mps2-an386 board);
#  - tests/test_neon_kernels.py: the aarch64 Linux cross GCC with its C library (the harness is
#    linked -static) and QEMU's user-mode emulator (qemu-aarch64 runs the NEON kernels);
#  - tests/test_core_sanitized.py: clang with its sanitizer runtimes (GCC's UBSan misses a
#    signed overflow in `x * (1 << n)`, which clang reports).
#  - tests/test_core_fuzz.py: clang's libFuzzer, and llvm-profdata / llvm-cov (package llvm-14,
#    only a recommendation of clang's) for the validator's line coverage.
# Needs root (CI runs as root). Idempotent: does nothing when everything is installed.
set -euo pipefail
if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
    && [ -e /usr/lib/arm-none-eabi/newlib/thumb/v7e-m/nofp/libc_nano.a ] \
    && command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null \
    && [ -e /usr/aarch64-linux-gnu/lib/libc.a ] && command -v clang >/dev/null \
    && [ -n "$(clang -print-file-name=libclang_rt.ubsan_standalone-x86_64.a 2>/dev/null | grep /)" ] \
    && { command -v llvm-profdata-14 || command -v llvm-profdata; } >/dev/null \
    && { command -v llvm-cov-14 || command -v llvm-cov; } >/dev/null; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user clang libclang-rt-14-dev llvm-14
