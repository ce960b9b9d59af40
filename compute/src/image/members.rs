//! The projects a `shared` image is shared with. The owner (or an admin)
//! adds and removes members; each member accepts or rejects the image
//! itself, and sees its own membership only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::access;
use super::rules::{self, MEMBER_QUOTA};
use crate::store::{args, from_micros, is_unique_violation, now_micros};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// A member's answer to a shared image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Not answered yet (a new member).
    Pending,
    /// Accepted: the image is in the member's lists.
    Accepted,
    /// Rejected: the image stays out of the member's lists.
    Rejected,
}

impl MemberStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Pending => "pending",
            MemberStatus::Accepted => "accepted",
            MemberStatus::Rejected => "rejected",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(MemberStatus::Pending),
            "accepted" => Ok(MemberStatus::Accepted),
            "rejected" => Ok(MemberStatus::Rejected),
            other => Err(Error::invalid(format!(
                "Invalid status '{other}': expected one of pending, accepted, rejected"
            ))),
        }
    }
}

/// A project an image is shared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMember {
    /// The image's uuid.
    pub image_id: String,
    /// The member project.
    pub member_id: String,
    /// Its answer.
    pub status: MemberStatus,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    image_uuid: String,
    member: String,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl MemberRow {
    fn into_member(self) -> Result<ImageMember> {
        Ok(ImageMember {
            image_id: self.image_uuid,
            member_id: self.member,
            status: MemberStatus::parse(&self.status)?,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

const MEMBER_COLUMNS: &str = "image_uuid, member, status, created_at, updated_at";

fn member_not_found(_image: &str, member: &str) -> Error {
    Error::not_found(Kind::ImageMember, member)
}

impl Compute {
    /// The members of an image the caller sees: all of them for the owner
    /// and admins, the caller's own membership for a member.
    pub async fn list_image_members(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Vec<ImageMember>> {
        let (image, _) = self.visible_image(ctx, uuid).await?;
        require_shared(&image.visibility, uuid)?;
        let rows: Vec<MemberRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM image_members WHERE image_uuid = $1 ORDER BY created_at, member"
                ),
                args![uuid],
            )
            .await?;
        let everyone = ctx.is_admin || access::owns(ctx, &image);
        rows.into_iter()
            .filter(|r| everyone || r.member == ctx.project_id)
            .map(MemberRow::into_member)
            .collect()
    }

    /// One member of an image: the owner and admins see any, a member
    /// only itself.
    pub async fn get_image_member(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        member: &str,
    ) -> Result<ImageMember> {
        let (image, _) = self.visible_image(ctx, uuid).await?;
        require_shared(&image.visibility, uuid)?;
        if !(ctx.is_admin || access::owns(ctx, &image) || member == ctx.project_id) {
            return Err(member_not_found(uuid, member));
        }
        let row: Option<MemberRow> = self
            .store
            .fetch_optional(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM image_members WHERE image_uuid = $1 AND member = $2"
                ),
                args![uuid, member],
            )
            .await?;
        row.ok_or_else(|| member_not_found(uuid, member))?
            .into_member()
    }

    /// Shares an image with project `member` (owner or admin, `shared`
    /// images only); the member starts `pending`. A member twice is
    /// [`Error::Conflict`].
    pub async fn add_image_member(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        member: &str,
    ) -> Result<ImageMember> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "add members to")?;
        require_shared(&image.visibility, uuid)?;
        if member.is_empty() || member.chars().count() > rules::MAX_LENGTH {
            return Err(Error::invalid(format!("Invalid member id '{member}'")));
        }
        let mut tx = self.store.begin_locked("nova-api-rs:images").await?;
        let (count,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM image_members WHERE image_uuid = $1",
                args![uuid],
            )
            .await?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MEMBER_QUOTA {
            return Err(rules::over_limit("members", MEMBER_QUOTA + 1, MEMBER_QUOTA));
        }
        let now = now_micros();
        let r = tx
            .execute(
                "INSERT INTO image_members (image_uuid, member, status, created_at, updated_at) \
                 VALUES ($1, $2, 'pending', $3, $3)",
                args![uuid, member, now],
            )
            .await;
        match r {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(format!(
                    "Member {member} already exists on image {uuid}."
                )))
            }
            r => r?,
        };
        tx.commit().await?;
        self.get_image_member(ctx, uuid, member).await
    }

    /// A member's answer: only the member project itself may give it.
    pub async fn set_image_member_status(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        member: &str,
        status: MemberStatus,
    ) -> Result<ImageMember> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        require_shared(&image.visibility, uuid)?;
        if member != ctx.project_id {
            // The owner sees its members but does not answer for them.
            if ctx.is_admin || access::owns(ctx, &image) {
                return Err(Error::Forbidden(
                    "You are not permitted to modify 'status' on this image member.".into(),
                ));
            }
            return Err(member_not_found(uuid, member));
        }
        let changed = self
            .store
            .execute(
                "UPDATE image_members SET status = $1, updated_at = $2 WHERE image_uuid = $3 AND member = $4",
                args![status.as_str(), now_micros(), uuid, member],
            )
            .await?;
        if changed == 0 {
            return Err(member_not_found(uuid, member));
        }
        self.get_image_member(ctx, uuid, member).await
    }

    /// Stops sharing an image with `member` (owner or admin).
    pub async fn remove_image_member(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        member: &str,
    ) -> Result<()> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        require_shared(&image.visibility, uuid)?;
        if !(ctx.is_admin || access::owns(ctx, &image)) {
            if member == ctx.project_id {
                return Err(Error::Forbidden(
                    "You are not permitted to delete this image member.".into(),
                ));
            }
            return Err(member_not_found(uuid, member));
        }
        let changed = self
            .store
            .execute(
                "DELETE FROM image_members WHERE image_uuid = $1 AND member = $2",
                args![uuid, member],
            )
            .await?;
        if changed == 0 {
            return Err(member_not_found(uuid, member));
        }
        Ok(())
    }
}

/// Members belong to `shared` images only (Glance's 403).
fn require_shared(visibility: &str, uuid: &str) -> Result<()> {
    if visibility == "shared" {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "Image {uuid} is not a shared image (visibility {visibility}): only shared images have members."
        )))
    }
}
