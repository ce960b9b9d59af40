//! The process runtime shared by `osapi-compute`, `ec2-api` and
//! `metadata-api`: the command line, the start-up sequence, the listener,
//! the HTTP server, the pre-fork process launcher, signals, TLS and
//! logging. It is the top of the shared crates: it reads nova.conf through
//! `nova-conf`, loads api-paste.ini through `nova-paste` and registers the
//! generic filters of `nova-middleware`.
//!
//! Nothing here knows about any one API: each binary describes itself with
//! an [`api::ApiBinary`] (its paste factories, its option groups, its
//! per-worker resources) and renders its own errors.

#![deny(unsafe_code)] // allowed only in launcher::{process, signals}, which fork and handle signals

pub mod access_log;
pub mod admin;
pub mod api;
pub mod cli;
pub mod debugapp;
pub mod exit;
pub mod introspection;
pub mod launcher;
pub mod listener;
pub mod logging;
pub mod server;
pub mod tls;
pub mod watchdog;

/// The memory allocator every binary of the project declares as its
/// global allocator: mimalloc, for the cost of the many small allocations
/// of a JSON answer and for giving freed pages back to the system after a
/// large one (glibc's arenas kept tens of MB after big listings); see
/// DECISIONS.md for the figures.
pub use mimalloc::MiMalloc as Allocator;
