//! Personality files (nova's injected files): what a create or rebuild of
//! the compute API below microversion 2.57 asks to put into the guest. They
//! are checked against the `[quota]` injected-file limits as nova checks
//! them, kept with the instance, and read by the metadata service, which
//! serves them as nova's config drive does (`files` of `meta_data.json`,
//! `openstack/content/<key>`).

use crate::config::QuotaLimits;
use crate::store::{args, Tx};
use crate::{Compute, Error, RequestContext, Result};

/// One personality file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InjectedFile {
    /// Where the guest gets the file.
    pub path: String,
    /// The contents: base64 text as the client sent it (what nova's quota
    /// on contents measures).
    pub contents: String,
}

/// Whether `used` goes over `limit` (`-1` is unlimited).
fn over(limit: i64, used: usize) -> bool {
    limit >= 0 && i64::try_from(used).map_or(true, |used| used > limit)
}

/// nova's `_check_injected_file_quota`: the number of files first, then the
/// longest path and the longest contents (the path is named first when
/// both are over). Lengths count characters, as Python's `len` does.
pub(crate) fn check_quota(limits: &QuotaLimits, files: &[InjectedFile]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let saturated = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    if over(limits.injected_files, files.len()) {
        return Err(Error::quota(
            "injected_files",
            saturated(files.len()),
            0,
            limits.injected_files,
        ));
    }
    let longest = |len: fn(&InjectedFile) -> usize| files.iter().map(len).max().unwrap_or(0);
    let path = longest(|f| f.path.chars().count());
    if over(limits.injected_file_path_length, path) {
        return Err(Error::quota(
            "injected_file_path_length",
            saturated(path),
            0,
            limits.injected_file_path_length,
        ));
    }
    let content = longest(|f| f.contents.chars().count());
    if over(limits.injected_file_content_bytes, content) {
        return Err(Error::quota(
            "injected_file_content_bytes",
            saturated(content),
            0,
            limits.injected_file_content_bytes,
        ));
    }
    Ok(())
}

/// Stores `files` as the files of `uuid`, replacing any it had, in `tx`.
pub(crate) async fn replace(tx: &mut Tx, uuid: &str, files: &[InjectedFile]) -> Result<()> {
    tx.execute(
        "DELETE FROM instance_injected_files WHERE instance_uuid = $1",
        args![uuid],
    )
    .await?;
    for (position, file) in (0_i64..).zip(files) {
        tx.execute(
            "INSERT INTO instance_injected_files (instance_uuid, position, path, contents) \
             VALUES ($1, $2, $3, $4)",
            args![uuid, position, &file.path, &file.contents],
        )
        .await?;
    }
    Ok(())
}

impl Compute {
    /// The personality files of the live instance `uuid` (of the caller's
    /// project, any for admins), in the order they were given.
    pub async fn injected_files(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Vec<InjectedFile>> {
        let row = self.load(ctx, uuid, false).await?;
        let files: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT path, contents FROM instance_injected_files \
                 WHERE instance_uuid = $1 ORDER BY position",
                args![&row.uuid],
            )
            .await?;
        Ok(files
            .into_iter()
            .map(|(path, contents)| InjectedFile { path, contents })
            .collect())
    }

    /// Replaces the personality files of `uuid` (a rebuild's, or none).
    pub(crate) async fn replace_injected_files(
        &self,
        uuid: &str,
        files: &[InjectedFile],
    ) -> Result<()> {
        let mut tx = self.store.begin_locked(&format!("files:{uuid}")).await?;
        replace(&mut tx, uuid, files).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path_len: usize, content_len: usize) -> InjectedFile {
        InjectedFile {
            path: "p".repeat(path_len),
            contents: "A".repeat(content_len),
        }
    }

    fn message(result: Result<()>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn the_count_is_checked_before_the_lengths() {
        let limits = QuotaLimits::default();
        let six_long = vec![file(300, 20000); 6];
        assert_eq!(
            message(check_quota(&limits, &six_long)),
            "Personality file limit exceeded"
        );
    }

    #[test]
    fn a_long_path_is_named_before_long_contents() {
        let limits = QuotaLimits::default();
        assert_eq!(
            message(check_quota(&limits, &[file(1, 1), file(256, 10241)])),
            "Personality file path exceeds maximum 255"
        );
        assert_eq!(
            message(check_quota(&limits, &[file(255, 10241)])),
            "Personality file content exceeds maximum 10240"
        );
    }

    #[test]
    fn files_at_the_limits_and_unlimited_quotas_pass() {
        let limits = QuotaLimits::default();
        assert!(check_quota(&limits, &vec![file(255, 10240); 5]).is_ok());
        let unlimited = QuotaLimits {
            injected_files: -1,
            injected_file_path_length: -1,
            injected_file_content_bytes: -1,
            ..QuotaLimits::default()
        };
        assert!(check_quota(&unlimited, &vec![file(1000, 100_000); 50]).is_ok());
    }

    #[test]
    fn lengths_count_characters_as_python_does() {
        let limits = QuotaLimits {
            injected_file_path_length: 3,
            ..QuotaLimits::default()
        };
        let accented = InjectedFile {
            path: "/é".into(),
            contents: String::new(),
        };
        assert!(check_quota(&limits, &[accented]).is_ok());
    }
}
