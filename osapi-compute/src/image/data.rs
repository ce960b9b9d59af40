//! Image data, streamed: `PUT /v2/images/{id}/file` (body chunks go to
//! the store as they arrive, never gathered), `GET /v2/images/{id}/file`
//! (the file read in chunks, with `Content-MD5` and single byte ranges),
//! and Glance's `glance-direct` import: `PUT /stage`, then
//! `POST /import`.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use compute::{ImageData, ImageDataError, ImageUpload};

use super::error::ImageApiError;
use super::{caller, json_body, media_type};
use crate::state::ApiState;

type Answer = Result<Response, ImageApiError>;

/// Bytes read from a data file per chunk sent.
const READ_CHUNK: usize = 64 * 1024;

/// The import methods served (no `web-download`: no internet here).
pub const IMPORT_METHODS: &[&str] = &["glance-direct"];

/// Refuses a body that is not `application/octet-stream` (Glance's 415).
fn require_octet_stream(request: &Request) -> Result<(), ImageApiError> {
    if media_type(request) == "application/octet-stream" {
        Ok(())
    } else {
        Err(ImageApiError::UnsupportedMediaType)
    }
}

/// Streams a request body into `upload`; on any failure the upload is
/// aborted (the image goes back to `queued`, the partial file goes).
async fn pour(mut upload: ImageUpload, request: Request) -> Result<(), ImageApiError> {
    // A declared length over the cap is refused before a byte is read.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = request.into_body();
    if let Some(len) = declared {
        if let Err(err) = upload.write_declared(len).await {
            return Err(err.into());
        }
    }
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => {
                upload.abort().await;
                tracing::warn!(image = upload.image_id(), error = %err, "image upload body failed");
                return Err(ImageApiError::BadRequest(
                    "Error in reading the request body: the upload was cut short.".into(),
                ));
            }
        };
        if let Ok(chunk) = frame.into_data() {
            upload.write(&chunk).await?;
        }
    }
    upload.finish().await?;
    Ok(())
}

/// `PUT /v2/images/{id}/file`: 204 once the image is `active`.
pub async fn upload(state: State<ApiState>, id: Path<String>, request: Request) -> Answer {
    receive(state, id, request, false).await
}

/// `PUT /v2/images/{id}/stage`: 204; the image is `uploading`.
pub async fn stage(state: State<ApiState>, id: Path<String>, request: Request) -> Answer {
    receive(state, id, request, true).await
}

/// A data body for the image (`staged`: for a later import).
async fn receive(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
    staged: bool,
) -> Answer {
    let ctx = caller(&request)?;
    require_octet_stream(&request)?;
    let upload = if staged {
        state.compute.begin_image_stage(&ctx, &id).await?
    } else {
        state.compute.begin_image_upload(&ctx, &id).await?
    };
    pour(upload, request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/images/{id}/import` with `{"method": {"name": ...}}`: 202.
/// Only `glance-direct` of staged data is served.
pub async fn import(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    // The image must be visible before its body matters.
    state.compute.get_image(&ctx, &id).await?;
    let body = json_body(request).await?;
    let method = body
        .pointer("/method/name")
        .and_then(Value::as_str)
        .unwrap_or("glance-direct");
    if !IMPORT_METHODS.contains(&method) {
        return Err(ImageApiError::BadRequest(format!(
            "Import method {method} is not supported here: only glance-direct (stage, then import)"
        )));
    }
    if body
        .get("stores")
        .is_some_and(|s| s != &serde_json::json!(["file"]))
    {
        return Err(ImageApiError::Conflict(
            "Only the store 'file' exists.".into(),
        ));
    }
    state.compute.import_staged_image(&ctx, &id, &body).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// One byte range of `size` bytes, from a `Range: bytes=a-b` header;
/// `Ok(None)` for no (or an unreadable) header, as Glance ignores those.
fn byte_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ImageApiError> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let unsatisfiable = ImageApiError::RangeNotSatisfiable { size };
    let range = match (first.parse::<u64>().ok(), last.parse::<u64>().ok()) {
        (Some(a), Some(b)) if a <= b => (a, b.min(size.saturating_sub(1))),
        (Some(a), None) if last.is_empty() => (a, size.saturating_sub(1)),
        (None, Some(n)) if first.is_empty() && n > 0 => {
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if size == 0 || range.0 >= size {
        return Err(unsatisfiable);
    }
    Ok(Some(range))
}

/// The chunks of `len` bytes of `file`.
fn file_body(file: tokio::fs::File, len: u64) -> Body {
    let stream = futures::stream::unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left.min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
        let mut buffer = vec![0u8; want];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(bytes::Bytes::from(buffer)), (file, left - n as u64)))
            }
            Err(err) => Some((Err(err), (file, 0))),
        }
    });
    Body::from_stream(stream)
}

/// `GET /v2/images/{id}/file`: 200 with the data (206 for a range), 204
/// when the image has none.
pub async fn download(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let Some(ImageData {
        mut file,
        size,
        checksum,
    }) = state.compute.open_image_data(&ctx, &id).await?
    else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let range = byte_range(request.headers(), size)?;
    let (status, start, len) = match range {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        None => (StatusCode::OK, 0, size),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| ImageApiError::Data(ImageDataError::Io(e)))?;
    }
    let mut response = Response::new(file_body(file, len));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some((a, b)) = range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{size}")) {
            headers.insert(header::CONTENT_RANGE, v);
        }
    } else if let Some(v) = checksum.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert("content-md5", v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ImageApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        byte_range(&headers, size)
    }

    #[test]
    fn ranges_are_read_as_http_has_them() {
        assert_eq!(range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(range("bytes=95-200", 100).unwrap(), Some((95, 99)));
        assert_eq!(range("bytes=0-1,5-6", 100).unwrap(), None);
        assert_eq!(range("items=0-1", 100).unwrap(), None);
        assert!(matches!(
            range("bytes=100-", 100),
            Err(ImageApiError::RangeNotSatisfiable { size: 100 })
        ));
    }
}
