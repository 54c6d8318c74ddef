// SPDX-License-Identifier: GPL-2.0

//! The crate root that `make doc` documents: a driver's crate as rust_wq sees it.
//!
//! rust_wq is not a crate of its own. A driver mounts it at its crate root, under this name,
//! and reaches it as `crate::rust_wq` (its macros do too):
//!
//! ```ignore (a driver's crate root, compiled as a crate of its own)
//! #[path = "../rust_wq/lib.rs"]
//! pub mod rust_wq;
//! # use kernel::prelude::*;
//! # module! {
//! #     type: rust_wq::Drained<MyDriver>,
//! #     name: "my_driver",
//! #     authors: ["..."],
//! #     description: "...",
//! #     license: "GPL",
//! # }
//! # struct MyDriver;
//! # impl kernel::Module for MyDriver {
//! #     fn init(_module: &'static ThisModule) -> Result<Self> {
//! #         Ok(MyDriver)
//! #     }
//! # }
//! ```
//!
//! The API is the module [`rust_wq`]; its macros live at the driver's crate root, listed on
//! this page.

#[path = "../rust_wq/lib.rs"]
pub mod rust_wq;

// What `module!` gives a driver's crate root and rust_wq's logging refers to.
#[doc(hidden)]
const __LOG_PREFIX: &[u8] = b"rust_wq\0";
