//! The noVNC client files under `[DEFAULT] web`, served as websockify
//! serves them to a browser: a GET or HEAD of a file answers it with its
//! content type; a directory or a missing file is 404. A request path
//! can only name files under the directory: `..` segments (encoded or
//! not) are refused. Symbolic links in the directory are followed (Debian
//! ships `vnc_auto.html` as a link to `vnc.html`): what the operator puts
//! there is served.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, StatusCode};

/// The file under `web` that the URL path `path` names, if it may name
/// one: each segment percent-decoded, empty and `.` segments dropped; a
/// `..` segment, a decoded `/` or `\` or a NUL refuses the path.
pub fn resolve(web: &Path, path: &str) -> Option<PathBuf> {
    let mut file = web.to_path_buf();
    for raw in path.split('/') {
        let segment = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        if segment.contains(['/', '\\', '\0']) || segment == ".." {
            return None;
        }
        if segment.is_empty() || segment == "." {
            continue;
        }
        file.push(segment.as_ref());
    }
    Some(file)
}

/// The content type of a file, by its extension.
pub fn content_type(file: &Path) -> &'static str {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("gif") => "image/gif",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("mp3") => "audio/mpeg",
        Some("oga" | "ogg") => "audio/ogg",
        Some("wasm") => "application/wasm",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The answer to a plain HTTP request for `path`.
pub async fn serve(web: &Path, method: &Method, path: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n").into_response();
    }
    let Some(file) = resolve(web, path) else {
        return not_found();
    };
    let is_file = tokio::fs::metadata(&file)
        .await
        .map(|m| m.is_file())
        .unwrap_or(false);
    if !is_file {
        return not_found();
    }
    let data = match tokio::fs::read(&file).await {
        Ok(data) => data,
        Err(err) => {
            tracing::warn!("cannot read {}: {err}", file.display());
            return not_found();
        }
    };
    let length = data.len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(data)
    };
    let mut response = (
        [
            (CONTENT_TYPE, content_type(&file)),
            // The client files change with the package: browsers check.
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, length.into());
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "File not found\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_a_file_under_the_directory() {
        let web = Path::new("/srv/novnc");
        assert_eq!(
            resolve(web, "/vnc_lite.html"),
            Some(PathBuf::from("/srv/novnc/vnc_lite.html"))
        );
        assert_eq!(
            resolve(web, "/app//./ui.js"),
            Some(PathBuf::from("/srv/novnc/app/ui.js"))
        );
        assert_eq!(
            resolve(web, "/app/my%20file.js"),
            Some(PathBuf::from("/srv/novnc/app/my file.js"))
        );
    }

    #[test]
    fn parent_segments_plain_or_encoded_are_refused() {
        let web = Path::new("/srv/novnc");
        for path in [
            "/../etc/passwd",
            "/app/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/app/%2E%2E/%2e%2e/etc/passwd",
            "/..%2fetc%2fpasswd",
            "/..%5c..%5cetc",
            "/a%00b",
            "/%ff",
        ] {
            assert_eq!(resolve(web, path), None, "{path}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(
            content_type(Path::new("vnc.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("app/ui.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.CSS")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("i.svg")), "image/svg+xml");
        assert_eq!(
            content_type(Path::new("novnc_proxy")),
            "application/octet-stream"
        );
    }
}
