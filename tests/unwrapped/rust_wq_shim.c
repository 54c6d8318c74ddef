// SPDX-License-Identifier: GPL-2.0
#include "../../rust_wq/glue/glue.c"
