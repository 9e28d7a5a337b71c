# The DSP-vs-reference harness (tests/c/dsp_vs_reference.c) as bare-metal firmware for
# QEMU's mps2-an386 (Cortex-M4), with firmware_examples/cortex-m's toolchain settings
# (m4.mk), semihosting writes and linker script. tests/test_dsp_kernels.py runs it.
#
#   make -f tests/c/dsp_vs_reference.mk BUILD=/tmp/dvr OPT=-O2          # -> /tmp/dvr/fw.elf
#   make -f tests/c/dsp_vs_reference.mk BUILD=/tmp/dvr OPT=-O2 run ARGS='--cases 100 --seed 5'
#   make -f tests/c/dsp_vs_reference.mk BUILD=/tmp/dvr3 \
#       ARCH='-mcpu=cortex-m3 -mthumb -mfloat-abi=soft' MACHINE=mps2-an385 run   # no DSP extension
#
# KERNELS=path/to/runtime/kernels tests another copy of the kernels.

THIS_MK := $(lastword $(MAKEFILE_LIST))
TESTS_C := $(patsubst %/,%,$(dir $(THIS_MK)))
ROOT := $(TESTS_C)/../..
FW := $(ROOT)/firmware_examples/cortex-m
KERNELS ?= $(ROOT)/runtime/kernels
BUILD ?= build/dsp_vs_reference

# QEMU: the board, and the harness's arguments as semihosting's command line.
MACHINE ?= mps2-an386
ARGS ?=
empty :=
space := $(empty) $(empty)
comma := ,
QEMU_FLAGS := -M $(MACHINE) -display none -monitor none -serial none -chardev stdio,id=semihost \
	-semihosting-config enable=on,target=native,chardev=semihost,$(subst $(space),$(comma),$(addprefix arg=,dvr $(ARGS)))

include $(FW)/m4.mk

SRCS := $(TESTS_C)/dsp_vs_reference.c $(TESTS_C)/dvr_m4.c $(FW)/startup.c $(FW)/semihosting.c \
	$(addprefix $(KERNELS)/src/ref/,pq_conv2d_s8.c pq_depthwise_conv2d_s8.c pq_fully_connected_s8.c pq_add_s8.c \
		pq_max_pool2d_s8.c pq_avg_pool2d_s8.c) \
	$(addprefix $(KERNELS)/src/ref/,pq_conv2d_s4.c pq_depthwise_conv2d_s4.c pq_fully_connected_s4.c) \
	$(addprefix $(KERNELS)/src/ref/,pq_conv2d_s16.c pq_depthwise_conv2d_s16.c pq_fully_connected_s16.c pq_add_s16.c) \
	$(addprefix $(KERNELS)/src/ref/,pq_max_pool2d_s16.c pq_avg_pool2d_s16.c) \
	$(sort $(wildcard $(KERNELS)/src/arch/cortexm/*.c))
OBJS := $(addprefix $(BUILD)/obj/,$(notdir $(SRCS:.c=.o)))
HEADERS := $(wildcard $(KERNELS)/include/*.h $(KERNELS)/include/*.def) $(TESTS_C)/dvr_m4.h $(FW)/semihosting.h
INCLUDES := -I$(KERNELS)/include -I$(FW) -I$(TESTS_C)

vpath %.c $(sort $(dir $(SRCS)))

all: $(BUILD)/fw.elf

$(BUILD)/obj/%.o: %.c $(HEADERS) $(THIS_MK)
	@mkdir -p $(dir $@)
	$(CC) $(ARCH) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(BUILD)/fw.elf: $(OBJS) $(FW)/mps2_an386.ld
	$(CC) $(ARCH) $(LDFLAGS) -Wl,-Map=$(BUILD)/fw.map -o $@ $(OBJS)
