//! lbconverge: a declarative, GitOps-style node converger for Linux LVS clusters.
//!
//! Data flow, one module per step:
//!
//! ```text
//! manifest::load(path)                 -> Loaded      the only manifest read; YAML errors carry file:line:col
//! model::validate(&Loaded, &Facts)     -> Cluster     pure; every problem, each with its key path
//! model::desired(&Cluster, node, &Health) -> Desired  pure: what this node's kernel should hold
//! kernel::snapshot(&mut dyn Kernel)    -> NodeState   IO: IPVS, addresses, routes, sysctls, ledger
//! plan::plan(&Desired, &NodeState)     -> Plan        pure: diff + ordering
//! cli::view::render(&Plan, format)                    text or JSON
//! apply::apply(&Plan, &mut dyn Kernel) -> Report      IO: the only writer of kernel state
//! ```
//!
//! - [`manifest`]: the YAML file format, its schema and locations.
//! - [`model`]: validated cluster, node state (desired and live share one type), desired state.
//! - [`plan`]: the diff between desired and live state, ordered for safety.
//! - [`kernel`]: traits for each kernel subsystem and their implementations.
//! - [`apply`]: executes a plan against a kernel.
//! - [`daemon`]: `lbconverge run`: VRRP instances, tracking, and the reconcile loop.
//! - [`cli`]: commands, exit codes and views.
//! - [`vrrp`]: VRRP advert codec, state machine and tracking (pure; time is an argument).
#![warn(missing_docs)]

pub mod apply;
pub mod cli;
pub mod daemon;
pub mod kernel;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod vrrp;
