//! The OpenStack Compute API v2.1 (nova's `osapi_compute`) as a library: the
//! version documents, microversions, nova's paste filters and apps, and the
//! resources, mapped onto the `compute` domain.
//!
//! # Map
//!
//! | module | holds |
//! |---|---|
//! | [`state`] | [`state::ApiState`], shared by every handler |
//! | [`strict_query`] | 2.102: unknown query parameters refused on the routes that read none |
//! | [`config`] | the `[api]` options |
//! | [`fault`] | [`fault::ApiError`]: the one place errors become nova faults |
//! | [`microversion`] | negotiation and the [`microversion::ApiVersion`] extractor |
//! | [`context`] | the [`context::Context`] extractor (the caller) |
//! | [`links`] | `self`/`bookmark`/`next` links, `limit`/`marker` |
//! | [`validation`] | JSON-schema-style body validation with nova's messages |
//! | [`versions`] | `GET /`, `GET /v2.1`, `GET /v2` |
//! | [`auth`] | the `noauth2` filter |
//! | [`keystone`] | the `keystonecontext` filter (after common's `authtoken`) |
//! | [`middleware`] | `faultwrap`, `legacy_v2_compatible`, `request_log` |
//! | [`router`] | the API app (`APIRouterV21`): project prefix, media types, routes |
//! | [`servers`] | `/servers` and everything under it |
//! | [`served`] | the tables of what the API and its companion apps serve (`docs/served.md`) |
//! | [`resources`] | flavors, keypairs, limits, quotas, zones, hypervisors, services, usage, images |
//! | [`removed`] | the APIs nova removed, 410 Gone |
//! | [`factories`] | the paste factories under nova's dotted names |
//! | [`identity`] | the Identity v3 app: noauth2's trusting one, or Keystone's API over the store's identity |
//! | [`image`], [`network`] | the Image v2 and Network v2 apps of a deployment without Glance or Neutron |
//!
//! **Architecture Invariant:** handlers never build error bodies; they
//! return [`fault::ApiError`] (or a `compute::Error`, converted in `fault`).

#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod context;
pub mod factories;
pub mod fault;
pub mod identity;
pub mod image;
pub mod keystone;
pub mod links;
pub mod microversion;
pub mod middleware;
pub mod network;
pub mod removed;
pub mod resources;
pub mod router;
pub mod served;
pub mod servers;
pub mod state;
pub mod strict_query;
pub mod validation;
pub mod versions;
