//! The service runtime shared by `osapi-compute`, `ec2-api` and
//! `metadata-api`: nova.conf loading, api-paste.ini loading, the HTTP server,
//! the pre-fork process launcher, logging and the generic middleware.
//!
//! Nothing here knows about any one API: each binary registers its own paste
//! factories and renders its own errors.

#![deny(unsafe_code)] // allowed only in launcher::{process, signals}, which fork and handle signals

pub mod access_log;
pub mod admin;
pub mod alloc;
pub mod api;
pub mod cli;
pub mod config;
pub mod debugapp;
pub mod exit;
pub mod http;
pub mod launcher;
pub mod listener;
pub mod logging;
pub mod middleware;
pub mod paste;
pub mod server;
pub mod tls;
pub mod watchdog;
