//! `ec2-api`: nova's EC2-compatible Query API service, with the admin
//! commands that manage its store (`db sync`, `credentials`).

use std::sync::Arc;

use clap::{Parser, Subcommand};
use common::api::{ApiBinary, EC2_MAX_URL_LEN};
use common::cli::ServiceArgs;
use common::config::NovaConf;

/// glibc's malloc, with small reallocations made cheap (see `common::alloc`).
#[global_allocator]
static ALLOCATOR: common::alloc::Allocator = common::alloc::Allocator;

#[derive(Parser)]
#[command(name = "ec2-api", version, about = "nova's EC2-compatible Query API")]
struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// EC2 credentials kept in the store, for signature verification.
    Credentials {
        #[command(subcommand)]
        action: CredentialsAction,
    },
}

#[derive(Subcommand)]
enum CredentialsAction {
    /// Creates an access/secret pair for a user in a project.
    Create {
        /// The user id the credential acts as.
        #[arg(long)]
        user: String,
        /// The project id the credential acts in.
        #[arg(long)]
        project: String,
    },
    /// Lists a user's credentials.
    List {
        /// The user id.
        #[arg(long)]
        user: String,
    },
}

const BINARY: ApiBinary = ApiBinary {
    name: "ec2",
    prog: "ec2-api",
    max_url_len: EC2_MAX_URL_LEN,
    register: ec2_api::register_factories,
    check: |conf| {
        ec2_options(conf)?;
        settings(conf)?;
        Ok(())
    },
    init: |conf| Box::pin(init(conf)),
    prepare: Some(|conf| {
        let settings = settings(&conf);
        Box::pin(async move { Ok(compute::open::prepare(settings?).await?) })
    }),
};

/// One worker's resources: the EC2 state over the shared store.
async fn init(conf: Arc<NovaConf>) -> anyhow::Result<http::Extensions> {
    let options = ec2_options(&conf)?;
    let compute = compute::open::open(settings(&conf)?).await?;
    Ok(ec2_api::worker_resources(compute, options))
}

/// The `[ec2]` options, read from nova.conf; a bad value names its source.
fn ec2_options(conf: &NovaConf) -> anyhow::Result<ec2_api::config::Ec2Options> {
    ec2_api::config::Ec2Options::from_raw(|group, option| {
        conf.get_str(group, option).ok().flatten()
    })
    .map_err(|e| {
        conf.invalid_value(&e.section, &e.option, &e.value, e.reason)
            .into()
    })
}

/// The compute domain's options, read from nova.conf.
fn settings(conf: &NovaConf) -> compute::Result<compute::open::Settings> {
    compute::open::Settings::from_raw(&conf.database.connection, |group, option| {
        conf.get_str(group, option).ok().flatten()
    })
}

/// Runs an admin command against the store and prints its outcome.
async fn admin(conf: NovaConf, command: Command) -> anyhow::Result<()> {
    let Command::Credentials { action } = command;
    compute::open::prepare(settings(&conf)?).await?;
    let compute = compute::open::open(settings(&conf)?).await?;
    let ctx = compute::RequestContext::admin("admin", "admin");
    match action {
        CredentialsAction::Create { user, project } => {
            let cred = compute
                .create_ec2_credential(&ctx, Some(&user), Some(&project))
                .await?;
            println!("access: {}\nsecret: {}", cred.access, cred.secret);
        }
        CredentialsAction::List { user } => {
            for cred in compute.list_ec2_credentials(&ctx, Some(&user)).await? {
                println!("{} {} {}", cred.access, cred.user_id, cred.project_id);
            }
        }
    }
    Ok(())
}

fn main() {
    let cli: Cli = common::cli::parse(BINARY.name);
    let code = match cli.command {
        None => common::api::main(BINARY, &cli.service),
        Some(command) => common::admin::run(BINARY.prog, &cli.service, BINARY.name, |conf| {
            admin(conf, command)
        }),
    };
    std::process::exit(code);
}
