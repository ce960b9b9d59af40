//! The service runtime shared by `osapi-compute`, `ec2-api` and
//! `metadata-api`: nova.conf loading, api-paste.ini loading, the HTTP server,
//! the pre-fork process launcher, logging and the generic middleware.
//!
//! Nothing here knows about any one API: each binary registers its own paste
//! factories and renders its own errors.

pub mod http;
