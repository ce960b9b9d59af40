//! Image data: one file per image under [`ImageStoreConfig::data_dir`]
//! (`<state_path>/images/<uuid>`), streamed in and out in chunks so that
//! no image is ever held whole in memory.
//!
//! An upload claims the image first (`queued` -> `saving` in one
//! conditional update, so of two concurrent uploads one wins and the other
//! gets [`ImageDataError::Conflict`]), writes to a temporary file beside
//! the final one while it computes the MD5 (`checksum`) and SHA-512
//! (`os_hash_value`), and on success renames it into place and marks the
//! image `active` with its size and hashes. Any failure, a body over
//! `[image] image_size_cap` included, removes the partial file and puts
//! the image back to `queued`; so does an upload dropped half way (a
//! client that went away).
//!
//! Glance's `glance-direct` import stages the data the same way under
//! `staging/` (`queued` -> `uploading`), then the import moves it into
//! place (`uploading` -> `importing` -> `active`).
//!
//! [`ImageStoreConfig::data_dir`]: super::ImageStoreConfig::data_dir

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use sha2::Sha512;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};

use super::access;
use crate::store::{args, now_micros};
use crate::{Compute, Error, Image, Kind, RequestContext};

/// The hash algorithm of `os_hash_value` for data stored here.
pub const HASH_ALGO: &str = "sha512";

/// Bytes buffered before a write reaches the file.
const WRITE_BUFFER: usize = 1 << 20;

/// An error of an upload or download.
#[derive(Debug, thiserror::Error)]
pub enum ImageDataError {
    /// The data is larger than `[image] image_size_cap` (413).
    #[error("Image exceeds the storage quota: the data is larger than the {cap} bytes [image] image_size_cap allows")]
    TooLarge {
        /// The cap in bytes.
        cap: u64,
    },
    /// The image is not in a status that takes data (409).
    #[error("{0}")]
    Conflict(String),
    /// The image was deleted while its data was written (410).
    #[error("Image {0} could not be found after upload. The image may have been deleted during the upload.")]
    Gone(String),
    /// A file of the image store could not be read or written. Internal.
    #[error("image store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Not found, forbidden, a store failure: the catalogue's errors.
    #[error(transparent)]
    Compute(#[from] Error),
}

/// Where an upload's data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The image's data (`PUT /file`): `queued` -> `saving` -> `active`.
    Data,
    /// Glance-direct staging (`PUT /stage`): `queued` -> `uploading`.
    Stage,
}

impl Target {
    fn claimed_status(self) -> &'static str {
        match self {
            Target::Data => "saving",
            Target::Stage => "uploading",
        }
    }
}

/// An upload in progress: feed it chunks with [`ImageUpload::write`],
/// then [`ImageUpload::finish`] it, or [`ImageUpload::abort`] it.
#[derive(Debug)]
pub struct ImageUpload {
    compute: Compute,
    uuid: String,
    target: Target,
    temp: PathBuf,
    file: Option<BufWriter<tokio::fs::File>>,
    md5: Md5,
    sha512: Sha512,
    size: u64,
    cap: u64,
    settled: bool,
}

/// An image's data to stream out.
#[derive(Debug)]
pub struct ImageData {
    /// The open data file.
    pub file: tokio::fs::File,
    /// Its size in bytes.
    pub size: u64,
    /// The image's MD5, if known.
    pub checksum: Option<String>,
}

impl Compute {
    fn data_dir(&self) -> &Path {
        &self.config.images.data_dir
    }

    fn data_path(&self, uuid: &str) -> PathBuf {
        self.data_dir().join(uuid)
    }

    fn staging_path(&self, uuid: &str) -> PathBuf {
        self.data_dir().join("staging").join(uuid)
    }

    /// Starts an upload of image `uuid`'s data (owner or admin; the image
    /// must be `queued`).
    pub async fn begin_image_upload(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<ImageUpload, ImageDataError> {
        self.begin(ctx, uuid, Target::Data).await
    }

    /// Starts staging image `uuid`'s data for a `glance-direct` import.
    pub async fn begin_image_stage(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<ImageUpload, ImageDataError> {
        self.begin(ctx, uuid, Target::Stage).await
    }

    async fn begin(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        target: Target,
    ) -> Result<ImageUpload, ImageDataError> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "upload data to")?;
        let to = target.claimed_status();
        let claimed = self
            .store
            .execute(
                "UPDATE images SET status = $1, updated_at = $2 WHERE uuid = $3 AND status = 'queued'",
                args![to, now_micros(), uuid],
            )
            .await?;
        if claimed == 0 {
            let status = self
                .load_image(uuid)
                .await?
                .map(|i| i.status)
                .unwrap_or_else(|| "deleted".into());
            return Err(ImageDataError::Conflict(format!(
                "Image status transition from {status} to {to} is not allowed"
            )));
        }
        let dir = match target {
            Target::Data => self.data_dir().to_path_buf(),
            Target::Stage => self.data_dir().join("staging"),
        };
        let temp = dir.join(format!(".{uuid}.{}.partial", uuid::Uuid::new_v4().simple()));
        let mut upload = ImageUpload {
            compute: self.clone(),
            uuid: uuid.to_string(),
            target,
            temp: temp.clone(),
            file: None,
            md5: Md5::new(),
            sha512: Sha512::new(),
            size: 0,
            cap: self.config.images.size_cap,
            settled: false,
        };
        match open_new(&dir, &temp).await {
            Ok(file) => {
                upload.file = Some(BufWriter::with_capacity(WRITE_BUFFER, file));
                Ok(upload)
            }
            Err(err) => {
                upload.abort().await;
                Err(err.into())
            }
        }
    }

    /// The data of an image the caller sees, to stream out; `None` when
    /// it has none (not uploaded yet, or registered without data). A
    /// deactivated image's data is for admins only.
    pub async fn open_image_data(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Option<ImageData>, ImageDataError> {
        let (image, _) = self.visible_image(ctx, uuid).await?;
        if image.status == "deactivated" && !ctx.is_admin {
            return Err(Error::Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
                    .into(),
            )
            .into());
        }
        if !matches!(image.status.as_str(), "active" | "deactivated") {
            return Ok(None);
        }
        let file = match tokio::fs::File::open(self.data_path(uuid)).await {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let size = file.metadata().await?.len();
        Ok(Some(ImageData {
            file,
            size,
            checksum: image.checksum,
        }))
    }

    /// Imports staged data (`glance-direct`): `uploading` -> `importing`
    /// -> `active`, hashing the staged file as it moves into place. An
    /// import that starts leaves its task (`api_image_import`, with
    /// `import_req`, the request's body, as its input): `success`, or
    /// `failure` with the reason ([`super::tasks`]).
    pub async fn import_staged_image(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        import_req: &serde_json::Value,
    ) -> Result<Image, ImageDataError> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "import")?;
        let staged = self.staging_path(uuid);
        let claimed = self
            .store
            .execute(
                "UPDATE images SET status = 'importing', updated_at = $1 WHERE uuid = $2 AND status = 'uploading'",
                args![now_micros(), uuid],
            )
            .await?;
        if claimed == 0 || !tokio::fs::try_exists(&staged).await.unwrap_or(false) {
            if claimed != 0 {
                self.set_status(uuid, "importing", "queued").await?;
            }
            return Err(ImageDataError::Conflict(format!(
                "Image {uuid} has no staged data to import (status {})",
                image.status
            )));
        }
        let result = async {
            let mut file = tokio::fs::File::open(&staged).await?;
            let (mut md5, mut sha512, mut size) = (Md5::new(), Sha512::new(), 0u64);
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buffer).await?;
                if n == 0 {
                    break;
                }
                md5.update(&buffer[..n]);
                sha512.update(&buffer[..n]);
                size += n as u64;
            }
            tokio::fs::rename(&staged, self.data_path(uuid)).await?;
            Ok::<_, std::io::Error>((
                hex::encode(md5.finalize()),
                hex::encode(sha512.finalize()),
                size,
            ))
        }
        .await;
        let outcome = match result {
            Ok((checksum, hash, size)) => {
                self.complete(uuid, "importing", &checksum, &hash, size)
                    .await
            }
            Err(err) => {
                self.set_status(uuid, "importing", "queued").await?;
                let _ = tokio::fs::remove_file(&staged).await;
                Err(err.into())
            }
        };
        // The task's message is shown to callers: no I/O details in it.
        let recorded = outcome.as_ref().map(|_| ()).map_err(|e| match e {
            ImageDataError::Io(_) => {
                "The staged data could not be read or moved into the store".to_string()
            }
            other => other.to_string(),
        });
        self.record_import_task(ctx, uuid, import_req, recorded)
            .await?;
        outcome
    }

    /// Marks an image whose data is in place `active` with its size and
    /// hashes, if it is still in status `from`; else (deleted meanwhile)
    /// removes the data and answers [`ImageDataError::Gone`].
    async fn complete(
        &self,
        uuid: &str,
        from: &str,
        checksum: &str,
        hash: &str,
        size: u64,
    ) -> Result<Image, ImageDataError> {
        let size = i64::try_from(size).map_err(|_| ImageDataError::TooLarge {
            cap: self.config.images.size_cap,
        })?;
        let done = self
            .store
            .execute(
                "UPDATE images SET status = 'active', size = $1, checksum = $2, os_hash_algo = $3, \
                 os_hash_value = $4, updated_at = $5 WHERE uuid = $6 AND status = $7",
                args![size, checksum, HASH_ALGO, hash, now_micros(), uuid, from],
            )
            .await?;
        if done == 0 {
            self.remove_image_files(uuid).await;
            return Err(ImageDataError::Gone(uuid.to_string()));
        }
        self.load_image(uuid)
            .await?
            .ok_or_else(|| ImageDataError::Gone(uuid.to_string()))
    }

    async fn set_status(&self, uuid: &str, from: &str, to: &str) -> crate::Result<()> {
        self.store
            .execute(
                "UPDATE images SET status = $1, updated_at = $2 WHERE uuid = $3 AND status = $4",
                args![to, now_micros(), uuid, from],
            )
            .await?;
        Ok(())
    }

    /// Removes an image's data and staged data, if any (a failure is
    /// logged: the image is gone either way).
    pub(crate) async fn remove_image_files(&self, uuid: &str) {
        for path in [self.data_path(uuid), self.staging_path(uuid)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "could not remove image data")
                }
            }
        }
    }
}

/// Creates `dir` (mode 0700) if missing and a new file `path` in it.
async fn open_new(dir: &Path, path: &Path) -> std::io::Result<tokio::fs::File> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    })
    .await
    .map_err(std::io::Error::other)??;
    tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .await
}

impl ImageUpload {
    /// The image being uploaded.
    pub fn image_id(&self) -> &str {
        &self.uuid
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Refuses at once (aborting) an upload whose declared length is over
    /// the cap, before any of it is read.
    pub async fn write_declared(&mut self, len: u64) -> Result<(), ImageDataError> {
        if len > self.cap {
            let cap = self.cap;
            self.abort().await;
            return Err(ImageDataError::TooLarge { cap });
        }
        Ok(())
    }

    /// Appends a chunk. Past the size cap the upload is aborted and
    /// [`ImageDataError::TooLarge`] returned; so is it on a write error.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), ImageDataError> {
        let len = chunk.len() as u64;
        if self.size.saturating_add(len) > self.cap {
            let cap = self.cap;
            self.abort().await;
            return Err(ImageDataError::TooLarge { cap });
        }
        let Some(file) = self.file.as_mut() else {
            return Err(ImageDataError::Conflict(format!(
                "The upload of image {} has ended",
                self.uuid
            )));
        };
        if let Err(err) = file.write_all(chunk).await {
            self.abort().await;
            return Err(err.into());
        }
        self.md5.update(chunk);
        self.sha512.update(chunk);
        self.size += len;
        Ok(())
    }

    /// Puts the data in place and marks the image `active` (or, staged,
    /// leaves it `uploading` for the import). Returns the image.
    pub async fn finish(mut self) -> Result<Image, ImageDataError> {
        let Some(mut file) = self.file.take() else {
            return Err(ImageDataError::Conflict(format!(
                "The upload of image {} has ended",
                self.uuid
            )));
        };
        let flushed = async {
            file.flush().await?;
            file.get_mut().sync_all().await
        }
        .await;
        drop(file);
        if let Err(err) = flushed {
            self.abort().await;
            return Err(err.into());
        }
        let compute = self.compute.clone();
        let uuid = self.uuid.clone();
        let final_path = match self.target {
            Target::Data => compute.data_path(&uuid),
            Target::Stage => compute.staging_path(&uuid),
        };
        if let Err(err) = tokio::fs::rename(&self.temp, &final_path).await {
            self.abort().await;
            return Err(err.into());
        }
        self.settled = true;
        match self.target {
            Target::Data => {
                let checksum = hex::encode(std::mem::take(&mut self.md5).finalize());
                let hash = hex::encode(std::mem::take(&mut self.sha512).finalize());
                compute
                    .complete(&uuid, "saving", &checksum, &hash, self.size)
                    .await
            }
            Target::Stage => compute
                .load_image(&uuid)
                .await?
                .filter(|i| i.status == "uploading")
                .ok_or_else(|| ImageDataError::Gone(uuid.clone())),
        }
    }

    /// Drops the partial data and puts the image back to `queued`.
    pub async fn abort(&mut self) {
        if self.settled {
            return;
        }
        self.settled = true;
        self.file = None;
        cleanup(
            self.compute.clone(),
            self.uuid.clone(),
            self.target,
            self.temp.clone(),
        )
        .await;
    }
}

async fn cleanup(compute: Compute, uuid: String, target: Target, temp: PathBuf) {
    if let Err(err) = tokio::fs::remove_file(&temp).await {
        if err.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %temp.display(), error = %err, "could not remove a partial image upload");
        }
    }
    if let Err(err) = compute
        .set_status(&uuid, target.claimed_status(), "queued")
        .await
    {
        tracing::warn!(image = %uuid, error = %err, "could not put an aborted upload's image back to queued");
    }
}

impl Drop for ImageUpload {
    /// An upload dropped half way (its client went away) is aborted in
    /// the background.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.file = None;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(cleanup(
                self.compute.clone(),
                self.uuid.clone(),
                self.target,
                self.temp.clone(),
            ));
        }
    }
}

impl From<ImageDataError> for Error {
    /// The catalogue's view of a data error (for callers that only
    /// report it).
    fn from(err: ImageDataError) -> Self {
        match err {
            ImageDataError::Compute(e) => e,
            ImageDataError::Conflict(m) => Error::Conflict(m),
            ImageDataError::Gone(id) => Error::not_found(Kind::Image, id),
            other => Error::Internal(other.to_string()),
        }
    }
}
