# SPDX-License-Identifier: GPL-2.0
#
# rust_wq's C glue, for the Kbuild of a module that mounts rust_wq: include this file there, list
# a one-line wrapper of glue.c among the module's objects, and make the crate root wait for the
# Rust declarations, e.g. in samples/Kbuild:
#
#   include $(src)/../rust_wq/glue/glue.mk
#   rust_wq_demo-y := demo_main.o demo_shim.o    # demo_shim.c: #include "../rust_wq/glue/glue.c"
#   $(obj)/demo_main.o: $(obj)/rust_wq_glue.rs
#
# The Rust declarations of the functions of glue.h are generated into $(obj)/rust_wq_glue.rs by
# bindgen, as the kernel generates those of its helpers (rust/Makefile,
# bindings_helpers_generated.rs): only the rust_wq_* functions and RUST_WQ_* constants, every
# type blocklisted
# (rust_wq/glue.rs takes them from kernel::bindings), from the C flags of the module less those
# libclang does not know. rust_wq/glue.rs includes the file that RUST_WQ_GLUE names.

rust_wq_glue_h := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))/glue.h

export RUST_WQ_GLUE := $(abspath $(obj))/rust_wq_glue.rs

# The flags as rust/Makefile gives them to bindgen. With GCC, the kernel's own list of the flags
# that libclang does not know, read from the rust/Makefile of the kernel we build against.
ifdef CONFIG_CC_IS_CLANG
rust_wq_bindgen_c_flags = $(c_flags)
else
rust_wq_bindgen_skip := $(shell sed -n -e '/^bindgen_skip_c_flags :=/,/[^\\]$$/{' \
	-e 's/^bindgen_skip_c_flags :=//' -e 's/\\$$//' -e p -e '}' $(srctree)/rust/Makefile)
ifeq ($(rust_wq_bindgen_skip),)
$(error rust_wq: no bindgen_skip_c_flags in $(srctree)/rust/Makefile)
endif
rust_wq_bindgen_target_x86 := x86_64-linux-gnu
rust_wq_bindgen_target_arm64 := aarch64-linux-gnu
rust_wq_bindgen_c_flags = $(filter-out $(rust_wq_bindgen_skip), $(c_flags)) \
	-w --target=$(rust_wq_bindgen_target_$(SRCARCH))
endif

quiet_cmd_rust_wq_bindgen = BINDGEN $@
      cmd_rust_wq_bindgen = \
	$(BINDGEN) $< --rust-target 1.85 --use-core --ctypes-prefix ffi --no-layout-tests \
		--no-debug '.*' --enable-function-attribute-detection \
		--blocklist-type '.*' --allowlist-var 'RUST_WQ_.*' --allowlist-function 'rust_wq_.*' \
		-o $@ -- $(filter-out $(CC_FLAGS_LTO), $(rust_wq_bindgen_c_flags)) \
		-fno-builtin -D__BINDGEN__ -DMODULE

$(obj)/rust_wq_glue.rs: $(rust_wq_glue_h) FORCE
	$(call if_changed_dep,rust_wq_bindgen)

targets += rust_wq_glue.rs
