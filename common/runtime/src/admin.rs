//! The plumbing of the binaries' admin sub-commands (`db sync`,
//! `credentials create`, ...): read nova.conf exactly as the service would,
//! run one async action on a throwaway runtime, report errors on one line,
//! and turn the outcome into an exit code.

use std::future::Future;

use nova_conf::{NovaConf, Schema};

use crate::api::ApiBinary;
use crate::cli::ServiceArgs;
use crate::exit::{EXIT_FAILURE, EXIT_OK};
use crate::logging;

/// Runs `action` with the binary's configuration (every group of its
/// schema loaded and checked, as the service loads it) and returns the exit
/// code. The action builds what it needs from it: an admin command needs
/// the store, not the API's settings (an EC2 credential can be made before
/// Keystone is configured).
pub fn run<S, F, Fut>(binary: &ApiBinary<S>, args: &ServiceArgs, action: F) -> i32
where
    F: FnOnce(NovaConf) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let prog = binary.prog;
    let sources = args.sources(binary.name, std::env::vars().collect());
    let conf = match NovaConf::load(&sources, &Schema::new(binary.groups)) {
        Ok((conf, _warnings)) => conf,
        Err(err) => {
            logging::early_error(prog, &err);
            return EXIT_FAILURE;
        }
    };
    // Admin commands log to stderr only; their output is on stdout.
    let _ = logging::init(conf.default.debug, None, conf.default.use_json);
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
