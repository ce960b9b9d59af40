//! A small XML writer for EC2 answers: escaped text, nested elements, the
//! `<{Action}Response>` envelope and the shapes shared by several actions.

use std::fmt::Write as _;

/// Escapes text for element content and attribute values. Characters that
/// XML 1.0 cannot carry at all (most C0 controls) become U+FFFD, so that
/// console output or user data never breaks a client's parser.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// An XML document being written; element names are trusted constants.
#[derive(Debug, Default)]
pub struct Xml {
    buf: String,
}

impl Xml {
    /// A document with the XML declaration.
    pub fn new() -> Self {
        let mut buf = String::with_capacity(1024);
        buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Self { buf }
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// `<name>text</name>`, escaped.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        escape(text, &mut self.buf);
        self.close(name)
    }

    /// `<name>text</name>` when `Some`, `<name/>` otherwise (nova rendered None as an empty element).
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(t) => self.text(name, t),
            None => self.empty(name),
        }
    }

    /// `<name>n</name>` for anything displayable as a number or keyword.
    pub fn num(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        self.open(name);
        let _ = write!(self.buf, "{value}");
        self.close(name)
    }

    /// `<name>true|false</name>`.
    pub fn boolean(&mut self, name: &str, value: bool) -> &mut Self {
        self.text(name, if value { "true" } else { "false" })
    }

    /// `<name/>`.
    pub fn empty(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str("/>");
        self
    }

    /// `<name>…</name>` around what `f` writes.
    pub fn elem(&mut self, name: &str, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.open(name);
        f(self);
        self.close(name)
    }

    /// `<name><item>…</item>…</name>`: one `<item>` per element of `items`.
    pub fn set<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.open(name);
        for item in items {
            self.open("item");
            f(self, item);
            self.close("item");
        }
        self.close(name)
    }

    /// `<name><value>v</value></name>`: the AttributeValue shape.
    pub fn value(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        self.elem(name, |x| {
            x.opt("value", value);
        })
    }

    /// Appends raw, already well-formed XML.
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.buf.push_str(xml);
        self
    }

    /// The document as a string.
    pub fn finish(self) -> String {
        self.buf
    }
}

/// Writes a whole success answer: `<{action}Response xmlns=…><requestId>…`
/// then what `body` writes.
pub fn response(
    action: &str,
    version: &str,
    request_id: &str,
    body: impl FnOnce(&mut Xml),
) -> String {
    let mut x = Xml::new();
    x.buf.push('<');
    x.buf.push_str(action);
    x.buf
        .push_str("Response xmlns=\"http://ec2.amazonaws.com/doc/");
    escape(version, &mut x.buf);
    x.buf.push_str("/\">");
    x.text("requestId", request_id);
    body(&mut x);
    x.buf.push_str("</");
    x.buf.push_str(action);
    x.buf.push_str("Response>");
    x.finish()
}

/// EC2's timestamp format, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_controls_replaced() {
        let mut x = Xml::default();
        x.text("a", "<b>&\"'\u{1}\n");
        assert_eq!(x.finish(), "<a>&lt;b&gt;&amp;&quot;&apos;\u{fffd}\n</a>");
    }

    #[test]
    fn envelope_has_namespace_of_version_and_request_id() {
        let s = response("DescribeRegions", "2016-11-15", "req-1", |x| {
            x.set("regionInfo", ["nova"], |x, r| {
                x.text("regionName", r);
            });
        });
        assert_eq!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-1</requestId><regionInfo><item><regionName>nova</regionName></item></regionInfo></DescribeRegionsResponse>"
        );
    }

    #[test]
    fn version_cannot_break_the_attribute() {
        let s = response("X", "\"><evil/>", "r", |_| {});
        assert!(s.contains("doc/&quot;&gt;&lt;evil/&gt;/"));
    }
}
