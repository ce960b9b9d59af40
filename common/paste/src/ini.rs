//! The INI dialect paste.deploy reads: Python's `ConfigParser` as
//! `NicerConfigParser` configures it (case-preserving option names,
//! `%(name)s` interpolation from the section, `[DEFAULT]`, `here` and
//! `__file__`).
//!
//! Parsing is eager and strict (like Python 3's `strict=True`): a duplicate
//! section or option, a line before any section header or a line that is
//! neither an option nor a continuation is an error with its line number.
//! Interpolation is lazy, as in Python: a value is interpolated when the
//! loader reads it, so a broken reference only matters in a section that the
//! selected app uses.
//!
//! One deliberate leniency: a `%` that is followed by neither `%` nor `(` is
//! kept as a literal `%`, as Python 2's `ConfigParser` (the one paste.deploy
//! used when nova's Havana file was written) did. Havana's stock file has
//! `admin_user = %SERVICE_USER%` placeholders that Python 3 would reject.

use std::collections::{BTreeMap, HashSet};

/// How many nested `%(name)s` references a value may go through; Python's
/// `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// The longest value interpolation may produce. Nested references can grow
/// a value exponentially; past this size we give up with an error instead of
/// exhausting memory.
const MAX_INTERPOLATED_LEN: usize = 1 << 20;

/// The name of the defaults section.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// One `key = value` option as written, before interpolation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The option name, case kept, trailing blanks removed.
    pub key: String,
    /// The raw value: continuation lines joined with `\n`, trailing blank
    /// lines removed.
    pub value: String,
    /// The 1-based line of the option's first line.
    pub line: usize,
}

/// One `[name]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The header's text between the brackets, unstripped (`app:foo`).
    pub name: String,
    /// The 1-based line of the header.
    pub line: usize,
    /// The options in file order.
    pub entries: Vec<Entry>,
}

impl Section {
    /// The raw entry for `key`, if the section has one.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A syntax error: the line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong, without the file name (the caller adds it).
    pub message: String,
}

/// An interpolation error: which option, where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpolationError {
    /// The section holding the option.
    pub section: String,
    /// The option whose value could not be interpolated.
    pub option: String,
    /// The option's 1-based line (0 for built-in defaults).
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// A parsed INI file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniFile {
    /// The `[DEFAULT]` options (all `[DEFAULT]` sections of the file merged).
    pub defaults: Vec<Entry>,
    /// The other sections in file order.
    pub sections: Vec<Section>,
}

/// Values that take part in interpolation but are never interpolated
/// themselves: `here`, `__file__` and globals handed down by a parent file.
pub type LiteralDefaults = BTreeMap<String, String>;

impl IniFile {
    /// Parses `text` with ConfigParser's rules. Never panics.
    pub fn parse(text: &str) -> Result<IniFile, SyntaxError> {
        Parser::default().run(text)
    }

    /// The section named exactly `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The names of all sections (without `DEFAULT`) in file order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.name.as_str())
    }

    /// Whether `key` is a default: a `[DEFAULT]` option or a literal default.
    pub fn is_default(&self, key: &str, literals: &LiteralDefaults) -> bool {
        literals.contains_key(key) || self.defaults.iter().any(|e| e.key == key)
    }

    /// The interpolated defaults: `literals` plus every `[DEFAULT]` option.
    /// A file's own `[DEFAULT]` overrides a literal of the same name, as it
    /// overrides `here` in ConfigParser.
    pub fn interpolated_defaults(
        &self,
        literals: &LiteralDefaults,
    ) -> Result<BTreeMap<String, String>, InterpolationError> {
        let mut out = literals.clone();
        for entry in &self.defaults {
            let value = self.interpolate(None, entry, literals)?;
            out.insert(entry.key.clone(), value);
        }
        Ok(out)
    }

    /// The interpolated value of `key` in `section` (`DEFAULT` or `None`
    /// means the defaults), or `Ok(None)` when the option does not exist.
    pub fn get(
        &self,
        section: Option<&str>,
        key: &str,
        literals: &LiteralDefaults,
    ) -> Result<Option<String>, InterpolationError> {
        let section = match section {
            Some(DEFAULT_SECTION) | None => None,
            Some(name) => match self.section(name) {
                Some(s) => Some(s),
                None => return Ok(None),
            },
        };
        let entry = section
            .and_then(|s| s.entry(key))
            .or_else(|| self.defaults.iter().find(|e| e.key == key));
        match entry {
            Some(entry) => self.interpolate(section, entry, literals).map(Some),
            None => Ok(literals.get(key).cloned()),
        }
    }

    /// Interpolates `entry` (an option of `section`, or of the defaults when
    /// `section` is `None`).
    pub fn interpolate(
        &self,
        section: Option<&Section>,
        entry: &Entry,
        literals: &LiteralDefaults,
    ) -> Result<String, InterpolationError> {
        let mut out = String::new();
        let fail = |message: String| InterpolationError {
            section: section
                .map_or(DEFAULT_SECTION, |s| s.name.as_str())
                .to_string(),
            option: entry.key.clone(),
            line: entry.line,
            message,
        };
        self.expand(section, &entry.value, literals, 1, &mut out)
            .map_err(fail)?;
        Ok(out)
    }

    /// Looks `name` up as ConfigParser's interpolation map does: the section
    /// first, then `[DEFAULT]`, then the literal defaults.
    fn lookup<'a>(
        &'a self,
        section: Option<&'a Section>,
        name: &str,
        literals: &'a LiteralDefaults,
    ) -> Option<Lookup<'a>> {
        if let Some(e) = section.and_then(|s| s.entry(name)) {
            return Some(Lookup::Raw(&e.value));
        }
        if let Some(e) = self.defaults.iter().find(|e| e.key == name) {
            return Some(Lookup::Raw(&e.value));
        }
        literals.get(name).map(|v| Lookup::Literal(v))
    }

    fn expand(
        &self,
        section: Option<&Section>,
        value: &str,
        literals: &LiteralDefaults,
        depth: usize,
        out: &mut String,
    ) -> Result<(), String> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "recursion limit exceeded in value substitution: more than {MAX_INTERPOLATION_DEPTH} nested %(name)s references"
            ));
        }
        let mut rest = value;
        while let Some(pos) = rest.find('%') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('(') {
                let Some(close) = tail.find(')') else {
                    return Err(format!(
                        "bad interpolation variable reference {:?}",
                        &rest[pos..]
                    ));
                };
                let name = &tail[..close];
                let Some(tail) = tail[close + 1..].strip_prefix('s') else {
                    return Err(format!(
                        "bad interpolation variable reference {:?}",
                        &rest[pos..]
                    ));
                };
                if name.is_empty() {
                    return Err(format!(
                        "bad interpolation variable reference {:?}",
                        &rest[pos..]
                    ));
                }
                match self.lookup(section, name, literals) {
                    Some(Lookup::Raw(v)) => self.expand(section, v, literals, depth + 1, out)?,
                    Some(Lookup::Literal(v)) => out.push_str(v),
                    None => {
                        return Err(format!(
                            "interpolation key {name:?} is not a valid option name"
                        ))
                    }
                }
                rest = tail;
            } else {
                // Python 2's leniency: a lone `%` is text.
                out.push('%');
                rest = after;
            }
            if out.len() > MAX_INTERPOLATED_LEN {
                return Err(format!(
                    "value longer than {MAX_INTERPOLATED_LEN} bytes after interpolation"
                ));
            }
        }
        out.push_str(rest);
        Ok(())
    }
}

enum Lookup<'a> {
    Raw(&'a str),
    Literal(&'a str),
}

/// Where the option being read lives, for continuation lines.
#[derive(Clone, Copy)]
enum Cursor {
    None,
    Defaults,
    Section(usize),
}

#[derive(Default)]
struct Parser {
    file: IniFile,
    seen_sections: HashSet<String>,
    seen_options: HashSet<(String, String)>,
}

impl Parser {
    fn run(mut self, text: &str) -> Result<IniFile, SyntaxError> {
        let mut cursor = Cursor::None;
        // The option that continuation lines extend, as (cursor, index).
        let mut option: Option<usize> = None;
        let mut indent_level = 0usize;
        for (idx, line) in text.lines().enumerate() {
            let lineno = idx + 1;
            let trimmed = line.trim();
            let is_comment = trimmed.starts_with('#') || trimmed.starts_with(';');
            if trimmed.is_empty() || is_comment {
                // ConfigParser keeps blank lines inside a multi-line value
                // (and strips trailing ones at the end); comments vanish.
                if trimmed.is_empty() {
                    if let Some(entry) = self.current(cursor, option) {
                        entry.value.push('\n');
                    }
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if option.is_some() && indent > indent_level {
                if let Some(entry) = self.current(cursor, option) {
                    entry.value.push('\n');
                    entry.value.push_str(trimmed);
                }
                continue;
            }
            indent_level = indent;
            if let Some(name) = section_header(trimmed) {
                option = None;
                if name == DEFAULT_SECTION {
                    cursor = Cursor::Defaults;
                } else {
                    if !self.seen_sections.insert(name.to_string()) {
                        return Err(SyntaxError {
                            line: lineno,
                            message: format!("section {name:?} already exists"),
                        });
                    }
                    self.file.sections.push(Section {
                        name: name.to_string(),
                        line: lineno,
                        entries: Vec::new(),
                    });
                    cursor = Cursor::Section(self.file.sections.len() - 1);
                }
                continue;
            }
            let section_name = match cursor {
                Cursor::None => {
                    return Err(SyntaxError {
                        line: lineno,
                        message: format!("file contains no section headers: {line:?}"),
                    })
                }
                Cursor::Defaults => DEFAULT_SECTION.to_string(),
                Cursor::Section(i) => self.file.sections[i].name.clone(),
            };
            // The first `=` or `:` splits the line (OPTCRE's lazy match).
            let Some(split) = trimmed.find(['=', ':']) else {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!("not an option, a section header or a continuation: {line:?}"),
                });
            };
            let key = trimmed[..split].trim_end();
            if key.is_empty() {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!("option without a name: {line:?}"),
                });
            }
            if !self
                .seen_options
                .insert((section_name.clone(), key.to_string()))
            {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!("option {key:?} in section {section_name:?} already exists"),
                });
            }
            let entry = Entry {
                key: key.to_string(),
                value: trimmed[split + 1..].trim().to_string(),
                line: lineno,
            };
            let entries = match cursor {
                Cursor::Defaults => &mut self.file.defaults,
                Cursor::Section(i) => &mut self.file.sections[i].entries,
                Cursor::None => {
                    return Err(SyntaxError {
                        line: lineno,
                        message: format!("file contains no section headers: {line:?}"),
                    })
                }
            };
            entries.push(entry);
            option = Some(entries.len() - 1);
        }
        // ConfigParser strips the trailing blank lines of every value.
        let trim = |e: &mut Entry| {
            let len = e.value.trim_end().len();
            e.value.truncate(len);
        };
        self.file.defaults.iter_mut().for_each(trim);
        for s in &mut self.file.sections {
            s.entries.iter_mut().for_each(trim);
        }
        Ok(self.file)
    }

    fn current(&mut self, cursor: Cursor, option: Option<usize>) -> Option<&mut Entry> {
        let idx = option?;
        match cursor {
            Cursor::None => None,
            Cursor::Defaults => self.file.defaults.get_mut(idx),
            Cursor::Section(i) => self.file.sections.get_mut(i)?.entries.get_mut(idx),
        }
    }
}

/// ConfigParser's `SECTCRE` (`\[(?P<header>.+)\]`, matched at the start):
/// the text between the first `[` and the last `]`, at least one character.
fn section_header(trimmed: &str) -> Option<&str> {
    let inner = trimmed.strip_prefix('[')?;
    let close = inner.rfind(']')?;
    (close > 0).then(|| &inner[..close])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals() -> LiteralDefaults {
        BTreeMap::from([("here".to_string(), "/etc/nova".to_string())])
    }

    #[test]
    fn first_equals_or_colon_splits_key_and_value() {
        let ini = IniFile::parse("[composite:x]\n/v2.1/+: app\nuse = call:a.b:c\nk=v=w\n").unwrap();
        let s = ini.section("composite:x").unwrap();
        let pairs: Vec<_> = s
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("/v2.1/+", "app"), ("use", "call:a.b:c"), ("k", "v=w")]
        );
    }

    #[test]
    fn keeps_case_and_skips_comments() {
        let ini = IniFile::parse("# c\n[app:A]\n; c\n  # indented comment\nKey = V\n").unwrap();
        assert_eq!(ini.section("app:A").unwrap().entries[0].key, "Key");
        assert_eq!(ini.section("app:A").unwrap().entries.len(), 1);
    }

    #[test]
    fn continuation_lines_join_with_newlines() {
        let ini = IniFile::parse("[p]\npipeline = a\n   b\n\n  c\n\nnext = x\n").unwrap();
        let s = ini.section("p").unwrap();
        assert_eq!(s.entry("pipeline").unwrap().value, "a\nb\n\nc");
        assert_eq!(s.entry("next").unwrap().value, "x");
    }

    #[test]
    fn interpolates_from_section_defaults_and_here() {
        let ini = IniFile::parse(
            "[DEFAULT]\nbase = %(here)s/x\n[s]\na = %(base)s/%(b)s 100%%\nb = y\nlit = %SERVICE_USER%\n",
        )
        .unwrap();
        let lit = literals();
        assert_eq!(
            ini.get(Some("s"), "a", &lit).unwrap().unwrap(),
            "/etc/nova/x/y 100%"
        );
        assert_eq!(
            ini.get(Some("s"), "lit", &lit).unwrap().unwrap(),
            "%SERVICE_USER%"
        );
        assert_eq!(
            ini.get(Some("s"), "base", &lit).unwrap().unwrap(),
            "/etc/nova/x"
        );
        assert_eq!(ini.get(Some("s"), "nope", &lit).unwrap(), None);
    }

    #[test]
    fn missing_and_recursive_references_are_errors() {
        let ini = IniFile::parse("[s]\na = %(missing)s\nb = %(b)s\nc = %(oops\n").unwrap();
        let lit = literals();
        let err = ini.get(Some("s"), "a", &lit).unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(
            err.message,
            "interpolation key \"missing\" is not a valid option name"
        );
        let err = ini.get(Some("s"), "b", &lit).unwrap_err();
        assert!(
            err.message.starts_with("recursion limit exceeded"),
            "{}",
            err.message
        );
        let err = ini.get(Some("s"), "c", &lit).unwrap_err();
        assert_eq!(
            err.message,
            "bad interpolation variable reference \"%(oops\""
        );
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let cases = [
            (
                "key = v\n",
                1,
                "file contains no section headers: \"key = v\"",
            ),
            ("[a]\nx = 1\n[a]\n", 3, "section \"a\" already exists"),
            (
                "[a]\nx = 1\nx: 2\n",
                3,
                "option \"x\" in section \"a\" already exists",
            ),
            (
                "[a]\njunk\n",
                2,
                "not an option, a section header or a continuation: \"junk\"",
            ),
            ("[a]\n = v\n", 2, "option without a name: \" = v\""),
        ];
        for (text, line, message) in cases {
            let err = IniFile::parse(text).unwrap_err();
            assert_eq!(
                (err.line, err.message.as_str()),
                (line, message),
                "{text:?}"
            );
        }
    }

    #[test]
    fn default_sections_merge_and_headers_take_text_up_to_the_last_bracket() {
        let ini = IniFile::parse("[DEFAULT]\na = 1\n[x] trailing\n[DEFAULT]\nb = 2\n").unwrap();
        assert_eq!(ini.defaults.len(), 2);
        assert_eq!(ini.section_names().collect::<Vec<_>>(), ["x"]);
    }
}
