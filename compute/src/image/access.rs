//! Who sees an image and who may change it, by Glance's rules: admins
//! see and change everything; the owner project sees and changes its
//! images; everyone sees `public` and `community` images; a project a
//! `shared` image is shared with sees it (and lists it once it accepted).

use crate::{Error, Image, ImageFilter, RequestContext, Result};

/// The caller's membership of a shared image: its status, when the
/// caller's project is a member.
pub(crate) type Membership<'a> = Option<&'a str>;

/// True when the caller's project owns `image`.
pub fn owns(ctx: &RequestContext, image: &Image) -> bool {
    image.owner.as_deref() == Some(ctx.project_id.as_str())
}

/// True when the caller may see `image` at all (show it, download it).
pub(crate) fn can_see(ctx: &RequestContext, image: &Image, membership: Membership<'_>) -> bool {
    if image.status == "deleted" {
        return false;
    }
    ctx.is_admin
        || matches!(image.visibility.as_str(), "public" | "community")
        || owns(ctx, image)
        || (image.visibility == "shared" && membership.is_some())
}

/// True when a list with `filter` shows `image` to the caller (who can
/// see it), as Glance's visibility and `member_status` filters decide.
pub(crate) fn listed(
    ctx: &RequestContext,
    image: &Image,
    membership: Membership<'_>,
    filter: &ImageFilter,
) -> bool {
    let wanted_status = filter.member_status.as_deref().unwrap_or("accepted");
    let as_member = image.visibility == "shared"
        && membership.is_some_and(|s| wanted_status == "all" || s == wanted_status);
    let mine = owns(ctx, image);
    match filter.visibility.as_deref() {
        None => ctx.is_admin || image.visibility == "public" || mine || as_member,
        Some("all") => {
            ctx.is_admin
                || matches!(image.visibility.as_str(), "public" | "community")
                || mine
                || as_member
        }
        Some("public") => image.visibility == "public",
        Some("community") => image.visibility == "community",
        Some("private") => image.visibility == "private" && (ctx.is_admin || mine),
        Some("shared") => image.visibility == "shared" && (ctx.is_admin || mine || as_member),
        Some(_) => false,
    }
}

/// Fails unless the caller owns `image` or is an admin: Glance's 403 for
/// what the caller can see but not change.
pub(crate) fn require_owner(ctx: &RequestContext, image: &Image, what: &str) -> Result<()> {
    if ctx.is_admin || owns(ctx, image) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "You are not permitted to {what} image {}.",
            image.uuid
        )))
    }
}

/// Fails when the caller may not give an image `visibility`: only admins
/// make images public (Glance's `publicize_image`).
pub(crate) fn may_set_visibility(ctx: &RequestContext, visibility: &str) -> Result<()> {
    if visibility == "public" && !ctx.is_admin {
        return Err(Error::Forbidden(
            "You are not authorized to complete publicize_image action.".into(),
        ));
    }
    Ok(())
}

/// Fails unless the caller may write at all: Glance's default policies
/// give writes to members and admins, never to a project's readers.
pub(crate) fn require_writer(ctx: &RequestContext) -> Result<()> {
    let reader_only = !ctx.is_admin
        && !ctx.roles.is_empty()
        && ctx.roles.iter().all(|r| r.eq_ignore_ascii_case("reader"));
    if reader_only {
        return Err(Error::Forbidden(
            "You are not authorized to complete this action: the reader role only reads.".into(),
        ));
    }
    Ok(())
}
