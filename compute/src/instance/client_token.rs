//! Creates made idempotent by a client token (EC2's `ClientToken`).

use super::create::{new_reservation_id, CreateInstance, CreatedInstances};
use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::store::{args, now_micros, Tx};
use crate::{Compute, Error, RequestContext, Result};

/// What [`Compute::create_instances_with_client_token`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientTokenOutcome {
    /// No earlier request of the project had the token: these instances
    /// were created, and the token now names their reservation.
    Created(CreatedInstances),
    /// An earlier request with the token made a reservation that still has
    /// live instances: nothing was created, and these are its instances.
    Replayed {
        /// The earlier request's reservation id.
        reservation_id: String,
        /// Its live instances, in launch index order.
        instances: Vec<Instance>,
    },
}

impl ClientTokenOutcome {
    /// The reservation the token names.
    pub fn reservation_id(&self) -> &str {
        match self {
            ClientTokenOutcome::Created(c) => &c.reservation_id,
            ClientTokenOutcome::Replayed { reservation_id, .. } => reservation_id,
        }
    }

    /// The instances of the reservation, created or replayed.
    pub fn instances(&self) -> &[Instance] {
        match self {
            ClientTokenOutcome::Created(c) => &c.instances,
            ClientTokenOutcome::Replayed { instances, .. } => instances,
        }
    }
}

/// The longest client token accepted (AWS's limit: 64 ASCII characters).
pub const MAX_CLIENT_TOKEN_LENGTH: usize = 64;

fn validate_client_token(token: &str) -> Result<()> {
    if token.is_empty() || token.len() > MAX_CLIENT_TOKEN_LENGTH || !token.is_ascii() {
        return Err(Error::invalid(format!(
            "Invalid client token: it must be 1 to {MAX_CLIENT_TOKEN_LENGTH} ASCII characters"
        )));
    }
    Ok(())
}

/// Claims `token` for `reservation_id` inside the create transaction:
/// `None` when the token is now ours (new, or its reservation has no live
/// instance left, as nova forgot the token of terminated instances), else
/// the reservation that holds it. The primary key on (project, token)
/// makes the claim atomic: of two transactions inserting the same token,
/// the second waits for the first and then sees its row.
async fn claim_client_token(
    tx: &mut Tx,
    project_id: &str,
    token: &str,
    reservation_id: &str,
    now: i64,
) -> Result<Option<String>> {
    let inserted = tx
        .execute(
            "INSERT INTO client_tokens (project_id, client_token, reservation_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, client_token) DO NOTHING",
            args![project_id, token, reservation_id, now],
        )
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let (holder,): (String,) = tx
        .fetch_one(
            "SELECT reservation_id FROM client_tokens WHERE project_id = $1 AND client_token = $2",
            args![project_id, token],
        )
        .await?;
    let (live,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM instances WHERE project_id = $1 AND reservation_id = $2 AND deleted = FALSE",
            args![project_id, &holder],
        )
        .await?;
    if live > 0 {
        return Ok(Some(holder));
    }
    tx.execute(
        "UPDATE client_tokens SET reservation_id = $1, created_at = $2 WHERE project_id = $3 AND client_token = $4",
        args![reservation_id, now, project_id, token],
    )
    .await?;
    Ok(None)
}

impl Compute {
    /// [`Compute::create_instances`] made idempotent by a client token (EC2's
    /// `ClientToken`), unique per project: when an earlier request with the
    /// token made a reservation that still has live instances, nothing is
    /// created and that reservation is answered
    /// ([`ClientTokenOutcome::Replayed`]). The claim of the token and the
    /// inserts are one transaction, so of concurrent requests with one
    /// token exactly one creates and the others replay its reservation. A
    /// token is 1 to [`MAX_CLIENT_TOKEN_LENGTH`] ASCII characters
    /// ([`Error::Invalid`]).
    pub async fn create_instances_with_client_token(
        &self,
        ctx: &RequestContext,
        client_token: &str,
        req: CreateInstance,
    ) -> Result<ClientTokenOutcome> {
        validate_client_token(client_token)?;
        let plan = self.plan_create(ctx, &req).await?;
        let reservation_id = new_reservation_id();
        let mut tx = self.begin_create(ctx).await?;
        let claim = claim_client_token(
            &mut tx,
            &ctx.project_id,
            client_token,
            &reservation_id,
            now_micros(),
        )
        .await?;
        if let Some(holder) = claim {
            // Nothing was written: the rollback only releases the locks.
            drop(tx);
            let instances = self.reservation_instances(ctx, &holder).await?;
            return Ok(ClientTokenOutcome::Replayed {
                reservation_id: holder,
                instances,
            });
        }
        let created = self
            .insert_instances(&mut tx, ctx, &req, &plan, &reservation_id)
            .await?;
        tx.commit().await?;
        Ok(ClientTokenOutcome::Created(
            self.load_created(ctx, reservation_id, created).await?,
        ))
    }

    /// The live instances of a reservation of the caller's project, in
    /// launch index order.
    async fn reservation_instances(
        &self,
        ctx: &RequestContext,
        reservation_id: &str,
    ) -> Result<Vec<Instance>> {
        let rows: Vec<InstanceRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {INSTANCE_COLUMNS} FROM instances WHERE project_id = $1 AND reservation_id = $2 \
                     AND deleted = FALSE ORDER BY launch_index"
                ),
                args![&ctx.project_id, reservation_id],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = self.advance(row).await?;
            if !row.deleted {
                out.push(row.to_instance());
            }
        }
        self.attach_network_info(&mut out).await?;
        Ok(out)
    }
}
