//! Errors of the metadata service and the one place where they become
//! responses.
//!
//! Error policy: library code returns [`MetadataError`]; the handler turns it
//! into the body webob gives nova's `webob.exc` exceptions (HTML, JSON or
//! plain text chosen from `Accept`, exactly as webob chooses). Internal
//! causes are logged where they happen and never reach the body: a client
//! sees nova's generic 500 text.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use nova_paste::http::{Body, Response};

/// nova's text for an internal failure while identifying the instance.
pub const UNKNOWN_ERROR: &str = "An unknown error has occurred. Please try your request again.";

/// Everything a metadata request can fail with, as the client sees it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    /// 404: nothing here, or the caller is no instance.
    #[error("not found")]
    NotFound,
    /// 400 with nova's explanation.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403 with nova's explanation.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 409: the password is already set.
    #[error("conflict")]
    Conflict,
    /// 401: an IMDSv2 token is required, expired or invalid.
    #[error("unauthorized")]
    Unauthorized,
    /// 405: a method the IMDSv2 token endpoint does not take.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 500: the cause has been logged already.
    #[error("internal error")]
    Internal,
}

impl MetadataError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            MetadataError::NotFound => StatusCode::NOT_FOUND,
            MetadataError::BadRequest(_) => StatusCode::BAD_REQUEST,
            MetadataError::Forbidden(_) => StatusCode::FORBIDDEN,
            MetadataError::Conflict => StatusCode::CONFLICT,
            MetadataError::Unauthorized => StatusCode::UNAUTHORIZED,
            MetadataError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            MetadataError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The explanation webob puts in the body.
    fn explanation(&self) -> &str {
        match self {
            MetadataError::NotFound => "The resource could not be found.",
            MetadataError::BadRequest(msg) | MetadataError::Forbidden(msg) => msg,
            MetadataError::Conflict => "There was a conflict when trying to complete your request.",
            MetadataError::Unauthorized => {
                "A valid metadata session token is required in the X-aws-ec2-metadata-token header."
            }
            MetadataError::MethodNotAllowed => "The method is not allowed for this resource.",
            MetadataError::Internal => UNKNOWN_ERROR,
        }
    }

    /// Renders the error for a request with these headers, as webob does.
    pub fn into_response(self, request_headers: &HeaderMap) -> Response {
        let status = self.status();
        let status_line = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error")
        );
        // webob's body template: explanation, two <br />, then the (empty)
        // detail and comment lines.
        let body = format!("{}<br /><br />\n\n\n", self.explanation());
        let (content_type, text) = match negotiate(request_headers) {
            ErrorFormat::Html => (
                "text/html; charset=UTF-8",
                format!(
                    "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n  {}<br /><br />\n\n\n\n </body>\n</html>",
                    html_escape(self.explanation())
                ),
            ),
            ErrorFormat::Json => (
                "application/json",
                serde_json::json!({
                    "message": body,
                    "code": status_line,
                    "title": status.canonical_reason().unwrap_or("Error"),
                })
                .to_string(),
            ),
            ErrorFormat::Plain => ("text/plain; charset=UTF-8", {
                format!("{status_line}\n\n{}", strip_tags(&body))
            }),
        };
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ErrorFormat {
    Html,
    Json,
    Plain,
}

/// webob's choice between `text/html` and `application/json` (in that order
/// of preference) by the request's `Accept`: no header or an empty one gives
/// plain text, a header that cannot be parsed accepts everything.
fn negotiate(headers: &HeaderMap) -> ErrorFormat {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return ErrorFormat::Plain;
    }
    let joined = values.join(",");
    let Some(ranges) = parse_accept(&joined) else {
        return ErrorFormat::Html;
    };
    let html = quality(&ranges, "text", "html");
    let json = quality(&ranges, "application", "json");
    if html <= 0.0 && json <= 0.0 {
        ErrorFormat::Plain
    } else if json > html {
        ErrorFormat::Json
    } else {
        ErrorFormat::Html
    }
}

/// A media range of an `Accept` header with its weight.
struct MediaRange {
    kind: String,
    subtype: String,
    q: f32,
}

/// Parses `Accept`; `None` for a header webob would call invalid.
fn parse_accept(value: &str) -> Option<Vec<MediaRange>> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let mut params = part.split(';');
        let media = params.next()?.trim();
        let (kind, subtype) = media.split_once('/')?;
        if kind.is_empty() || subtype.is_empty() || (kind == "*" && subtype != "*") {
            return None;
        }
        let mut q = 1.0f32;
        for param in params {
            let (name, val) = param.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("q") {
                q = val
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        out.push(MediaRange {
            kind: kind.to_ascii_lowercase(),
            subtype: subtype.to_ascii_lowercase(),
            q,
        });
    }
    Some(out)
}

/// The weight of the most specific range matching `kind/subtype` (0: none).
fn quality(ranges: &[MediaRange], kind: &str, subtype: &str) -> f32 {
    let mut best: Option<(u8, f32)> = None;
    for range in ranges {
        let specificity = if range.kind == kind && range.subtype == subtype {
            2
        } else if range.kind == kind && range.subtype == "*" {
            1
        } else if range.kind == "*" && range.subtype == "*" {
            0
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, range.q));
        }
    }
    best.map(|(_, q)| q).unwrap_or(0.0)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// webob's `strip_tags` for the plain-text body: newlines become spaces,
/// `<br />` becomes a newline, other tags vanish.
fn strip_tags(s: &str) -> String {
    let flattened = s.replace('\n', " ").replace('\r', "");
    let with_breaks = flattened.replace("<br />", "\n");
    let mut out = String::with_capacity(with_breaks.len());
    let mut in_tag = false;
    for c in with_breaks.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn render(err: MetadataError, accept: Option<&str>) -> (StatusCode, String, String) {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        let resp = err.into_response(&headers);
        let ct = resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn not_found_without_accept_is_webob_plain_text() {
        let (status, ct, body) = render(MetadataError::NotFound, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(ct, "text/plain; charset=UTF-8");
        assert_eq!(
            body,
            "404 Not Found\n\nThe resource could not be found.\n\n   "
        );
    }

    #[tokio::test]
    async fn not_found_for_any_accept_is_webob_html() {
        let (_, ct, body) = render(MetadataError::NotFound, Some("*/*")).await;
        assert_eq!(ct, "text/html; charset=UTF-8");
        assert_eq!(
            body,
            "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>"
        );
    }

    #[tokio::test]
    async fn json_is_chosen_when_preferred() {
        let (_, ct, body) = render(
            MetadataError::Forbidden("Invalid proxy request signature.".into()),
            Some("application/json, text/html;q=0.5"),
        )
        .await;
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "403 Forbidden");
        assert_eq!(v["title"], "Forbidden");
        assert_eq!(
            v["message"],
            "Invalid proxy request signature.<br /><br />\n\n\n"
        );
    }

    #[tokio::test]
    async fn accept_without_html_or_json_gives_plain_text() {
        let (_, ct, body) = render(
            MetadataError::BadRequest("Request is too large.".into()),
            Some("text/plain"),
        )
        .await;
        assert_eq!(ct, "text/plain; charset=UTF-8");
        assert_eq!(body, "400 Bad Request\n\nRequest is too large.\n\n   ");
    }

    #[tokio::test]
    async fn html_body_escapes_the_explanation() {
        let (_, _, body) = render(
            MetadataError::BadRequest("a <b> & c".into()),
            Some("text/html"),
        )
        .await;
        assert!(body.contains("a &lt;b&gt; &amp; c<br /><br />"), "{body}");
    }
}
