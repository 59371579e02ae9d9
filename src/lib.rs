//! lbconverge: a declarative, GitOps-style node converger for Linux LVS clusters.
//!
//! Data flow, one module per step:
//!
//! ```text
//! load::Loader::load(path)             -> Validated   read, parse, validate with host facts
//! model::desired(&Cluster, node, &Health) -> Desired  pure: what this node's kernel should hold
//! kernel::snapshot(&mut dyn Kernel)    -> NodeState   IO: IPVS, addresses, routes, sysctls, nft marks, ledger
//! plan::plan(&Desired, &NodeState)     -> Plan        pure: diff + ordering; Display per change
//! cli::view::plan_text(&Plan, ..)                     text or JSON
//! apply::apply(&Plan, &mut dyn Kernel) -> Report      IO: the only writer of kernel state
//! ```
//!
//! Layers, top to bottom (imports only point down):
//!
//! - [`cli`]: commands, exit codes and views. [`daemon`]: `lbconverge run`: VRRP instances,
//!   tracking and the reconcile loop, over the kernel traits.
//! - [`load`]: the host side of reading a manifest (host facts, which node this is).
//! - [`apply`]: executes a plan against a kernel. [`health`]: real-server checks (pure state,
//!   probes on their own tokio thread) whose results are an input of the desired state.
//! - [`plan`]: the diff between desired and live state, ordered for safety, and its words.
//! - [`kernel`]: traits for each kernel subsystem and their implementations.
//! - [`model`]: validated cluster, node state (desired and live share one type), desired state.
//! - [`manifest`]: the YAML file format, its schema and locations. [`vrrp`]: VRRP advert
//!   codec, state machine and tracking (pure; time is an argument), sockets.
//! - [`import`]: keepalived.conf (and `ipvsadm -S` rules) to a manifest (pure).
//! - [`text`]: the one escaping rule for text from outside that lbconverge prints.
//!   [`child`]: commands run in a process group of their own, killed whole when done.
//! - [`family`], [`files`], [`state_file`], [`sys`], [`testkit`]: the IP family, the one
//!   reader of files from outside (non-blocking, regular files only, size capped), safe
//!   state-file writes, raw socket calls, test helpers. [`logging`]: log lines as text or JSON, each naming its
//!   subsystem.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation))]

pub mod alert;
pub mod apply;
pub mod child;
pub mod cli;
pub mod daemon;
pub mod family;
pub mod files;
pub mod health;
pub mod import;
pub mod kernel;
pub mod load;
pub mod logging;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod state_file;
pub mod sys;
pub mod testkit;
pub mod text;
pub mod utc;
pub mod vrrp;
