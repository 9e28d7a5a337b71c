# Shared by cortex-m/Makefile and cortex-m-ota/Makefile (included after BUILD is set):
# the Arm toolchain and flags, QEMU's mps2-an386 board, and the run, size,
# check-no-float and clean targets of $(BUILD)/fw.elf.
.DEFAULT_GOAL := all
M4_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

CROSS ?= arm-none-eabi-
CC := $(CROSS)gcc
SIZE := $(CROSS)size
NM := $(CROSS)nm
QEMU ?= qemu-system-arm
QEMU_FLAGS ?= -M mps2-an386 -display none -monitor none -serial none \
	-chardev stdio,id=semihost -semihosting-config enable=on,target=native,chardev=semihost

OPT ?= -Os
ARCH ?= -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
CFLAGS ?= -std=c99 -Wall -Wextra -Werror $(OPT) -g -ffunction-sections -fdata-sections
# nano.specs: newlib-nano's memmove/memcpy/memset (the only libc functions the C calls);
# our own startup replaces crt0, so no syscalls are needed.
LDFLAGS ?= -nostartfiles --specs=nano.specs -T $(M4_DIR)/mps2_an386.ld -Wl,--gc-sections

.PHONY: all run size check-no-float clean FORCE

# stdin from /dev/null: the stdio chardev needs a valid fd 0 (CI runs without one), and the
# firmware reads nothing. QEMU's exit status is the firmware's (semihosting SYS_EXIT).
run: $(BUILD)/fw.elf
	$(QEMU) $(QEMU_FLAGS) -kernel $< < /dev/null

# Berkeley format: flash = text (code + rodata) + data, RAM = data + bss; then SIZE_OBJS
# (e.g. the kernels' own objects, as the firmware links them).
size: $(BUILD)/fw.elf
	$(SIZE) -A $<
	$(SIZE) $<
	$(if $(SIZE_OBJS),$(SIZE) -t $(SIZE_OBJS))

# Integer-only, proven: no soft-float helper (__aeabi_f*, __aeabi_d*, __aeabi_i2f, ...) is linked.
check-no-float: $(BUILD)/fw.elf
	@if $(NM) $< | grep -E ' __aeabi_(f|d|[ui]2[fd]|[ui]?l2[fd])|__(add|sub|mul|div)[sd]f3|__float|__fix'; \
	then echo "soft-float helpers linked" >&2; exit 1; else echo "no soft-float helpers in $<"; fi

clean:
	rm -rf $(BUILD)
