//! The per-worker state of the EC2 API: the compute facade, the `[ec2]`
//! options, where credentials come from, the lockout counters and the clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::auth::{BoxFuture, CredentialSource, Ec2Credential};
use crate::config::Ec2Options;
use crate::pipeline::LockoutTable;

/// A clock, injectable so that tests can sign requests at a fixed time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything the EC2 filters and actions share within one worker.
pub struct Ec2State {
    /// The shared compute domain.
    pub compute: compute::Compute,
    /// The `[ec2]` options.
    pub options: Ec2Options,
    /// Where access keys are resolved to secrets.
    pub credentials: Arc<dyn CredentialSource>,
    /// Per-access-key failure counts of the Lockout filter.
    pub lockout: LockoutTable,
    /// The regions a SigV4 credential scope may name, resolved once.
    pub signing_regions: Vec<String>,
    clock: Clock,
}

impl std::fmt::Debug for Ec2State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2State")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Ec2State {
    /// The state of a worker: `compute` serves the actions and holds the
    /// EC2 credentials signatures are checked against.
    pub fn new(compute: compute::Compute, options: Ec2Options) -> Self {
        let credentials = Arc::new(StoreCredentials(compute.clone()));
        Self::with_parts(compute, options, credentials)
    }

    /// State over explicit parts (another credential source, in tests).
    pub fn with_parts(
        compute: compute::Compute,
        options: Ec2Options,
        credentials: Arc<dyn CredentialSource>,
    ) -> Self {
        Self {
            compute,
            signing_regions: options.accepted_signing_regions(),
            options,
            credentials,
            lockout: LockoutTable::default(),
            clock: Arc::new(Utc::now),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// What a SigV4 signature must be scoped to here.
    pub fn sigv4_policy(&self) -> crate::auth::sigv4::Policy<'_> {
        crate::auth::sigv4::Policy::ec2(&self.signing_regions)
    }

    /// The current time by this state's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// The EC2 credentials kept in the compute store. A credential of a user
/// the built-in identity holds works while that user may use its project,
/// admin by its roles; one of a noauth2 name keeps noauth2's rule (the
/// user named `admin` is the administrator); see
/// `compute::identity::ec2`.
#[derive(Clone)]
pub struct StoreCredentials(pub compute::Compute);

impl CredentialSource for StoreCredentials {
    fn lookup<'a>(
        &'a self,
        access: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Option<Ec2Credential>>> {
        Box::pin(async move {
            match self.0.lookup_ec2_credential(access).await {
                Ok(c) => match self.0.ec2_credential_admin(&c).await {
                    Ok(Some(is_admin)) => Ok(Some(Ec2Credential {
                        is_admin,
                        access: c.access,
                        secret: c.secret,
                        user_id: c.user_id,
                        project_id: c.project_id,
                    })),
                    Ok(None) => Ok(None),
                    Err(e) => Err(anyhow::anyhow!(e)),
                },
                Err(compute::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(anyhow::anyhow!(e)),
            }
        })
    }
}
