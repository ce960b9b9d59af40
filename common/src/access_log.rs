//! The access log line in nova's `[wsgi] wsgi_log_format`, a Python
//! `%`-format over the fields eventlet supplies (nova-behaviour §1.2):
//! `client_ip`, `client_port`, `date_time`, `request_line`, `status_code`,
//! `body_length`, `wall_seconds`.

use std::fmt::Write;

/// One request's facts, as eventlet names them.
#[derive(Debug, Clone, Default)]
pub struct AccessRecord {
    /// `<X-Forwarded-For>,<peer ip>` when the header is present, else the peer ip.
    pub client_ip: String,
    /// The peer port.
    pub client_port: u16,
    /// `METHOD target HTTP/x.y`.
    pub request_line: String,
    /// The response status.
    pub status_code: u16,
    /// Bytes of the response body.
    pub body_length: u64,
    /// Seconds from request to response headers.
    pub wall_seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Field {
        name: String,
        precision: Option<usize>,
    },
}

/// A parsed `wsgi_log_format`, ready to render records.
#[derive(Debug, Clone)]
pub struct LogFormat {
    pieces: Vec<Piece>,
}

impl LogFormat {
    /// Parses a Python `%(name)s` / `%(name)d` / `%(name).Nf` format; any
    /// other text, `%%` included, is kept literally.
    pub fn parse(format: &str) -> Self {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = format;
        while let Some(pos) = rest.find('%') {
            literal.push_str(&rest[..pos]);
            rest = &rest[pos..];
            if let Some(after) = rest.strip_prefix("%%") {
                literal.push('%');
                rest = after;
                continue;
            }
            match parse_field(rest) {
                Some((piece, used)) => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                    rest = &rest[used..];
                }
                None => {
                    literal.push('%');
                    rest = &rest[1..];
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Self { pieces }
    }

    /// Renders one record; unknown field names render empty, as a missing
    /// key would otherwise break every log line.
    pub fn render(&self, record: &AccessRecord) -> String {
        let mut out = String::with_capacity(128);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field { name, precision } => {
                    let _ = match name.as_str() {
                        "client_ip" => write!(out, "{}", record.client_ip),
                        "client_port" => write!(out, "{}", record.client_port),
                        "date_time" => {
                            write!(out, "{}", chrono::Local::now().format("%d/%b/%Y %H:%M:%S"))
                        }
                        "request_line" => write!(out, "{}", record.request_line),
                        "status_code" => write!(out, "{}", record.status_code),
                        "body_length" => write!(out, "{}", record.body_length),
                        "wall_seconds" => match precision {
                            Some(p) => write!(out, "{:.*}", *p, record.wall_seconds),
                            None => write!(out, "{}", record.wall_seconds),
                        },
                        _ => Ok(()),
                    };
                }
            }
        }
        out
    }
}

/// Parses `%(name)<spec>` at the start of `text`; returns the piece and the
/// bytes used.
fn parse_field(text: &str) -> Option<(Piece, usize)> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    let name = inner[..close].to_owned();
    let spec = &inner[close + 1..];
    let conv_at = spec.find(|c: char| c.is_ascii_alphabetic())?;
    let flags = &spec[..conv_at];
    let precision = flags
        .rsplit_once('.')
        .and_then(|(_, digits)| digits.parse().ok());
    let used = 2 + close + 1 + conv_at + 1;
    Some((Piece::Field { name, precision }, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOVA_DEFAULT: &str = "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f";

    #[test]
    fn nova_default_format_renders_like_eventlet() {
        let record = AccessRecord {
            client_ip: "10.0.0.5".into(),
            client_port: 40000,
            request_line: "GET /v2.1 HTTP/1.1".into(),
            status_code: 200,
            body_length: 390,
            wall_seconds: 0.00123,
        };
        assert_eq!(
            LogFormat::parse(NOVA_DEFAULT).render(&record),
            "10.0.0.5 \"GET /v2.1 HTTP/1.1\" status: 200 len: 390 time: 0.0012300"
        );
    }

    #[test]
    fn percent_escapes_and_stray_percents_stay_literal() {
        let format = LogFormat::parse("100%% %(status_code)d % end %(");
        let record = AccessRecord {
            status_code: 404,
            ..AccessRecord::default()
        };
        assert_eq!(format.render(&record), "100% 404 % end %(");
    }
}
