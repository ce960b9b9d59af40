//! `keystone-manage bootstrap`: the roles `admin`, `manager`, `member`,
//! `reader` (admin implies manager, manager implies member, member implies
//! reader; nova's project-manager policies name `manager`) and `service`
//! (for service users; it implies nothing), the admin project, the
//! admin user with the admin role on that project and on the system.
//! Idempotent: what exists is kept; a configured password that no longer
//! matches is set again, as keystone-manage does. Run by `db sync` and by
//! the first start of a deployment whose identity is the store's.

use std::io::Write as _;
use std::path::PathBuf;

use rand::RngCore;

use super::error::{IdentityError, IdentityResult};
use super::{Actor, NewProject, NewRole, NewUser, Role, Target, UserLookup, DEFAULT_DOMAIN_ID};
use crate::Compute;

/// What the bootstrap makes (from `[identity] bootstrap_*` and
/// `OS_BOOTSTRAP_PASSWORD`).
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapOptions {
    /// The admin user's name.
    pub username: String,
    /// Its password; `None`: generated when the user is made.
    pub password: Option<String>,
    /// The admin project's name.
    pub project_name: String,
    /// The admin role's name.
    pub role_name: String,
    /// Where a generated password is written (0600).
    pub password_file: PathBuf,
}

impl std::fmt::Debug for BootstrapOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapOptions")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("project_name", &self.project_name)
            .field("role_name", &self.role_name)
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// What the bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapReport {
    /// The admin user's id.
    pub user_id: String,
    /// The admin project's id.
    pub project_id: String,
    /// Whether the user was made now.
    pub user_created: bool,
    /// Where the generated password was written, when one was.
    pub generated_password_file: Option<PathBuf>,
}

impl Compute {
    async fn ensure_role(&self, name: &str) -> IdentityResult<Role> {
        match self.find_role_by_name(name).await {
            Ok(role) => Ok(role),
            Err(IdentityError::NotFound { .. }) => match self
                .create_role(NewRole {
                    name: name.to_string(),
                    ..Default::default()
                })
                .await
            {
                // Another process made it meanwhile.
                Err(IdentityError::Conflict { .. }) => self.find_role_by_name(name).await,
                other => other,
            },
            Err(err) => Err(err),
        }
    }

    /// Runs the bootstrap (see the module doc).
    pub async fn bootstrap_identity(
        &self,
        options: &BootstrapOptions,
    ) -> IdentityResult<BootstrapReport> {
        let reader = self.ensure_role("reader").await?;
        let member = self.ensure_role("member").await?;
        let manager = self.ensure_role("manager").await?;
        let admin = self.ensure_role("admin").await?;
        self.ensure_role("service").await?;
        self.create_implied_role(&admin.id, &manager.id).await?;
        self.create_implied_role(&manager.id, &member.id).await?;
        self.create_implied_role(&member.id, &reader.id).await?;
        let role = if options.role_name == admin.name {
            admin
        } else {
            self.ensure_role(&options.role_name).await?
        };

        let project = match self
            .find_project_by_name(&options.project_name, DEFAULT_DOMAIN_ID)
            .await
        {
            Ok(project) => project,
            Err(IdentityError::NotFound { .. }) => match self
                .create_project(NewProject {
                    name: options.project_name.clone(),
                    description: "Bootstrap project for initializing the cloud.".into(),
                    ..Default::default()
                })
                .await
            {
                Err(IdentityError::Conflict { .. }) => {
                    self.find_project_by_name(&options.project_name, DEFAULT_DOMAIN_ID)
                        .await?
                }
                other => other?,
            },
            Err(err) => return Err(err),
        };

        let lookup = UserLookup::Name {
            name: options.username.clone(),
            domain_id: Some(DEFAULT_DOMAIN_ID.into()),
            domain_name: None,
        };
        let mut generated_password_file = None;
        let (user, user_created) = match self.find_user(&lookup).await {
            Ok(user) => {
                if let Some(password) = &options.password {
                    if self.check_password(&lookup, password).await.is_err() {
                        tracing::info!(user = %options.username, "bootstrap: setting the configured password again");
                        self.update_user(
                            &user.id,
                            super::UserUpdate {
                                password: Some(password.clone()),
                                enabled: Some(true),
                                ..Default::default()
                            },
                        )
                        .await?;
                    }
                }
                (user, false)
            }
            Err(IdentityError::NotFound { .. }) => {
                let (password, generated) = match &options.password {
                    Some(p) => (p.clone(), false),
                    None => (generate_password(), true),
                };
                let created = self
                    .create_user(NewUser {
                        name: options.username.clone(),
                        password: Some(password.clone()),
                        default_project_id: Some(project.id.clone()),
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(user) => {
                        if generated {
                            write_password_file(&options.password_file, &password)?;
                            tracing::warn!(
                                user = %options.username,
                                file = %options.password_file.display(),
                                "bootstrap: made the admin user with a generated password, written to the file (mode 0600); set [identity] bootstrap_password or OS_BOOTSTRAP_PASSWORD to choose it"
                            );
                            generated_password_file = Some(options.password_file.clone());
                        }
                        (user, true)
                    }
                    // Another process made it meanwhile (with its password).
                    Err(IdentityError::Conflict { .. }) => (self.find_user(&lookup).await?, false),
                    Err(err) => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };

        let actor = Actor::User(user.id.clone());
        self.assign_role(&actor, &Target::Project(project.id.clone()), &role.id)
            .await?;
        self.assign_role(&actor, &Target::System, &role.id).await?;
        Ok(BootstrapReport {
            user_id: user.id,
            project_id: project.id,
            user_created,
            generated_password_file,
        })
    }
}

/// 24 random bytes as URL-safe base64 (32 characters).
fn generate_password() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Writes `password` to `path`, readable by its owner only.
fn write_password_file(path: &std::path::Path, password: &str) -> IdentityResult<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let fail = |e: std::io::Error| {
        IdentityError::Compute(crate::Error::Internal(format!(
            "cannot write the bootstrap password to {}: {e}",
            path.display()
        )))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    writeln!(file, "{password}").map_err(fail)
}
