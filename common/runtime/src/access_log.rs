//! The access log line in nova's `[wsgi] wsgi_log_format`, a Python
//! `%`-format over the fields eventlet supplies (nova-behaviour §1.2):
//! `client_ip`, `client_port`, `date_time`, `request_line`, `status_code`,
//! `body_length`, `wall_seconds`.

use std::fmt::Write;
use std::time::Duration;

/// One request's facts, as eventlet names them.
#[derive(Debug, Clone, Default)]
pub struct AccessRecord<'a> {
    /// The peer's address.
    pub client_ip: &'a str,
    /// The peer port.
    pub client_port: u16,
    /// `METHOD target HTTP/x.y`.
    pub request_line: &'a str,
    /// The response status.
    pub status_code: u16,
    /// Bytes of the response body.
    pub body_length: u64,
    /// From request to response headers.
    pub wall: Duration,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Field {
        field: Field,
        precision: Option<usize>,
    },
}

/// The fields eventlet supplies, resolved once when the format is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ClientIp,
    ClientPort,
    DateTime,
    RequestLine,
    StatusCode,
    BodyLength,
    WallSeconds,
    /// A name eventlet does not supply: renders empty.
    Unknown,
}

impl Field {
    fn named(name: &str) -> Self {
        match name {
            "client_ip" => Field::ClientIp,
            "client_port" => Field::ClientPort,
            "date_time" => Field::DateTime,
            "request_line" => Field::RequestLine,
            "status_code" => Field::StatusCode,
            "body_length" => Field::BodyLength,
            "wall_seconds" => Field::WallSeconds,
            _ => Field::Unknown,
        }
    }
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
    pub fn render(&self, record: &AccessRecord<'_>) -> String {
        let mut out = String::with_capacity(128);
        self.render_into(record, &mut out);
        out
    }

    /// [`render`](Self::render), appending to `out`.
    pub fn render_into(&self, record: &AccessRecord<'_>, out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field { field, precision } => match field {
                    Field::ClientIp => out.push_str(record.client_ip),
                    Field::ClientPort => {
                        out.push_str(itoa::Buffer::new().format(record.client_port))
                    }
                    Field::DateTime => {
                        let _ = write!(out, "{}", chrono::Local::now().format("%d/%b/%Y %H:%M:%S"));
                    }
                    Field::RequestLine => out.push_str(record.request_line),
                    Field::StatusCode => {
                        out.push_str(itoa::Buffer::new().format(record.status_code))
                    }
                    Field::BodyLength => {
                        out.push_str(itoa::Buffer::new().format(record.body_length))
                    }
                    Field::WallSeconds => write_seconds(out, record.wall, *precision),
                    Field::Unknown => {}
                },
            }
        }
    }
}

/// Seconds as Python's `%.Nf` prints them (`%s` prints Python's repr of
/// the float, which `{}` of an `f64` matches for these magnitudes). Up to
/// nine decimals are written from the integer nanoseconds, rounded half up
/// instead of through float formatting.
fn write_seconds(out: &mut String, wall: Duration, precision: Option<usize>) {
    match precision {
        Some(p @ 0..=9) => {
            let unit = 10u64.pow(9 - p as u32);
            let scaled = (u64::from(wall.subsec_nanos()) + unit / 2) / unit;
            let one = 10u64.pow(p as u32);
            let (secs, frac) = (wall.as_secs() + scaled / one, scaled % one);
            out.push_str(itoa::Buffer::new().format(secs));
            if p > 0 {
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(frac);
                out.push('.');
                out.extend(std::iter::repeat_n('0', p - digits.len()));
                out.push_str(digits);
            }
        }
        Some(p) => {
            let _ = write!(out, "{:.*}", p, wall.as_secs_f64());
        }
        None => {
            let _ = write!(out, "{}", wall.as_secs_f64());
        }
    }
}

/// Parses `%(name)<spec>` at the start of `text`; returns the piece and the
/// bytes used.
fn parse_field(text: &str) -> Option<(Piece, usize)> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    let field = Field::named(&inner[..close]);
    let spec = &inner[close + 1..];
    let conv_at = spec.find(|c: char| c.is_ascii_alphabetic())?;
    let flags = &spec[..conv_at];
    let precision = flags
        .rsplit_once('.')
        .and_then(|(_, digits)| digits.parse().ok());
    let used = 2 + close + 1 + conv_at + 1;
    Some((Piece::Field { field, precision }, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOVA_DEFAULT: &str = "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f";

    #[test]
    fn nova_default_format_renders_like_eventlet() {
        let record = AccessRecord {
            client_ip: "10.0.0.5",
            client_port: 40000,
            request_line: "GET /v2.1 HTTP/1.1",
            status_code: 200,
            body_length: 390,
            wall: Duration::from_nanos(1_230_000),
        };
        assert_eq!(
            LogFormat::parse(NOVA_DEFAULT).render(&record),
            "10.0.0.5 \"GET /v2.1 HTTP/1.1\" status: 200 len: 390 time: 0.0012300"
        );
    }

    #[test]
    fn fixed_precision_seconds_round_like_printf() {
        let render = |format: &str, nanos: u64| {
            let record = AccessRecord {
                wall: Duration::from_nanos(nanos),
                ..AccessRecord::default()
            };
            LogFormat::parse(format).render(&record)
        };
        assert_eq!(render("%(wall_seconds).7f", 0), "0.0000000");
        assert_eq!(render("%(wall_seconds).7f", 1_234_567_890), "1.2345679");
        assert_eq!(render("%(wall_seconds).3f", 2_999_600_000), "3.000");
        assert_eq!(render("%(wall_seconds).0f", 1_600_000_000), "2");
        assert_eq!(render("%(wall_seconds).12f", 1_500_000), "0.001500000000");
        assert_eq!(render("%(wall_seconds)s", 1_500_000_000), "1.5");
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
