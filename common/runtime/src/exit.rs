//! The process exit codes of the three binaries, as oslo.service's launchers
//! use them (nova-behaviour §1.5), one named constant each.

/// A normal stop, or a graceful drain that finished in time.
pub const EXIT_OK: i32 = 0;
/// Start-up failed (bad config, missing paste app, bind error), SIGINT's
/// instantaneous exit, a drain that outlived `graceful_shutdown_timeout`,
/// or a worker whose parent died.
pub const EXIT_FAILURE: i32 = 1;
/// A worker hit an unhandled error while serving.
pub const EXIT_UNHANDLED: i32 = 2;
