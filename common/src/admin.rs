//! The plumbing of the binaries' admin sub-commands (`db sync`,
//! `credentials create`, ...): read nova.conf exactly as the service would,
//! run one async action on a throwaway runtime, report errors on one line,
//! and turn the outcome into an exit code.

use std::future::Future;

use crate::cli::ServiceArgs;
use crate::config::NovaConf;
use crate::exit::{EXIT_FAILURE, EXIT_OK};
use crate::logging;

/// Runs `action` with the binary's configuration and returns the exit code.
pub fn run<F, Fut>(prog: &str, args: &ServiceArgs, api: &str, action: F) -> i32
where
    F: FnOnce(NovaConf) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let sources = args.sources(api, std::env::vars().collect());
    let conf = match NovaConf::load(&sources) {
        Ok((conf, _warnings)) => conf,
        Err(err) => {
            logging::early_error(prog, &err);
            return EXIT_FAILURE;
        }
    };
    // Admin commands log to stderr only; their output is on stdout.
    let _ = logging::init(conf.default.debug, None);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            logging::early_error(prog, &err);
            return EXIT_FAILURE;
        }
    };
    match runtime.block_on(action(conf)) {
        Ok(()) => EXIT_OK,
        Err(err) => {
            logging::early_error(prog, &format!("{err:#}"));
            EXIT_FAILURE
        }
    }
}
