//! `novncproxy`: nova's noVNC console proxy (`nova-novncproxy`) for the
//! simulated cloud. It serves the noVNC client files, takes the
//! WebSocket of a console URL, validates its console auth token against
//! compute's store and, as no hypervisor stands behind the simulated
//! guests, plays the guest's VNC server itself.
//!
//! Modules: [`cli`] and [`config`] (flags and options), [`startup`] (the
//! process), [`proxy`] (HTTP and WebSocket), [`access`] (token and
//! origin), [`files`] (the client files), [`rfb`] (the VNC server).

#![forbid(unsafe_code)]

pub mod access;
pub mod cli;
pub mod config;
pub mod files;
pub mod proxy;
pub mod rfb;
pub mod startup;
