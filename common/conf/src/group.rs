//! Option groups: how every crate declares the nova.conf options it owns,
//! and the schema a binary loads, made of the groups of every crate it
//! links.
//!
//! A crate writes each group once with [`option_group!`](crate::option_group):
//! the fields are the options, each with its type, its default (as
//! nova.conf text), the parser that checks it (type, choices, min and max:
//! see [`crate::value`]), its help (the field's doc comment) and any
//! deprecated spellings. The macro makes the struct, its [`GroupSpec`] (what
//! the catalogue of known options, `$option` substitution and the reload
//! diff read) and its loader. The crate exports its groups as a slice of
//! [`GroupDecl`]s; a binary lists those slices in its [`Schema`], and
//! [`crate::NovaConf::load`] parses and checks every group of the schema in
//! one go, in the supervising parent, before anything binds or forks.
//! Workers read the typed values with [`crate::NovaConf::group`]; they never
//! parse.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use crate::{ConfigError, Resolver};

/// One option as declared: what the catalogue, substitution and help need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The option's name in its group.
    pub name: &'static str,
    /// Its default as nova.conf text; `None` when it is unset by default.
    pub default: Option<&'static str>,
    /// Its help text, one line per doc-comment line.
    pub help: &'static [&'static str],
    /// Older spellings, as `(group, option)`, that still set it (with a
    /// warning).
    pub deprecated: &'static [(&'static str, &'static str)],
    /// Whether the value is a secret (oslo.config's `secret=True`): shown
    /// masked wherever the configuration is reported.
    pub secret: bool,
}

/// One group as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSpec {
    /// The group's name in nova.conf (`DEFAULT` or lower case).
    pub group: &'static str,
    /// A group each option is also read from when this one does not set it
    /// (nova's Havana EC2 options lived in `[DEFAULT]`).
    pub fallback: Option<&'static str>,
    /// Its options.
    pub options: &'static [OptionSpec],
}

impl GroupSpec {
    /// The option called `name`, if the group declares one.
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

/// A typed option group, made by [`option_group!`](crate::option_group).
pub trait OptionGroup: fmt::Debug + Clone + PartialEq + Send + Sync + 'static {
    /// The group's declaration.
    const SPEC: GroupSpec;

    /// Reads and checks every option of the group.
    fn load(r: &Resolver<'_>) -> Result<Self, ConfigError>;

    /// Appends `[group] option` for every option whose value differs.
    fn diff(&self, new: &Self, out: &mut Vec<String>);
}

/// A group as a schema holds it: its declaration and its loader, with the
/// type erased so that groups of different crates sit in one list.
#[derive(Clone, Copy)]
pub struct GroupDecl {
    /// The declaration.
    pub spec: &'static GroupSpec,
    type_id: fn() -> TypeId,
    load: fn(&Resolver<'_>) -> Result<LoadedGroup, ConfigError>,
    diff: fn(&LoadedGroup, &LoadedGroup, &mut Vec<String>),
}

impl fmt::Debug for GroupDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GroupDecl").field(&self.spec.group).finish()
    }
}

impl GroupDecl {
    /// The declaration of `T`, for a crate's list of groups.
    pub const fn of<T: OptionGroup>() -> Self {
        GroupDecl {
            spec: &T::SPEC,
            type_id: TypeId::of::<T>,
            load: load_erased::<T>,
            diff: diff_erased::<T>,
        }
    }
}

fn load_erased<T: OptionGroup>(r: &Resolver<'_>) -> Result<LoadedGroup, ConfigError> {
    Ok(LoadedGroup(Arc::new(T::load(r)?)))
}

fn diff_erased<T: OptionGroup>(old: &LoadedGroup, new: &LoadedGroup, out: &mut Vec<String>) {
    if let (Some(old), Some(new)) = (old.get::<T>(), new.get::<T>()) {
        old.diff(new, out);
    }
}

/// One loaded group, typed behind `Any`.
#[derive(Clone)]
pub(crate) struct LoadedGroup(Arc<dyn Any + Send + Sync>);

impl fmt::Debug for LoadedGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoadedGroup(..)")
    }
}

impl LoadedGroup {
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

/// The groups one binary loads: nova-conf's own (`[DEFAULT]`, `[wsgi]`,
/// ...) and those of every crate it links, each crate's as the slice it
/// exports.
#[derive(Clone)]
pub struct Schema {
    crates: Vec<&'static [GroupDecl]>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.decls().map(|d| d.spec.group))
            .finish()
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.decls()
            .map(|d| d.spec)
            .eq(other.decls().map(|d| d.spec))
    }
}

impl Default for Schema {
    fn default() -> Self {
        Schema::new(&[])
    }
}

impl Schema {
    /// nova-conf's own groups and those in `crates`.
    pub fn new(crates: &[&'static [GroupDecl]]) -> Self {
        let mut all = vec![crate::options::CORE];
        all.extend_from_slice(crates);
        Schema { crates: all }
    }

    /// Every group, nova-conf's first.
    pub fn decls(&self) -> impl Iterator<Item = &'static GroupDecl> + '_ {
        self.crates.iter().flat_map(|c| c.iter())
    }

    /// Whether some group of the schema is `[group]`.
    pub fn declares(&self, group: &str) -> bool {
        self.decls().any(|d| d.spec.group == group)
    }

    /// The declared option `[group] option`, from any group of that name.
    pub fn option(&self, group: &str, option: &str) -> Option<&'static OptionSpec> {
        self.decls()
            .filter(|d| d.spec.group == group)
            .find_map(|d| d.spec.option(option))
    }

    /// Whether `[group] option` is read as the fallback of a declared
    /// option (`[DEFAULT] ec2_port` for `[ec2] ec2_port`).
    pub fn is_fallback(&self, group: &str, option: &str) -> bool {
        self.decls()
            .any(|d| d.spec.fallback == Some(group) && d.spec.option(option).is_some())
    }

    /// The names of the declared options of `group`.
    pub fn names<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'static str> + 'a {
        self.decls()
            .filter(move |d| d.spec.group == group)
            .flat_map(|d| d.spec.options.iter().map(|o| o.name))
    }

    /// The current `(group, option)` of a deprecated spelling declared
    /// beside a field.
    pub fn renamed(&self, group: &str, option: &str) -> Option<(&'static str, &'static str)> {
        self.decls().find_map(|d| {
            d.spec.options.iter().find_map(|o| {
                o.deprecated
                    .iter()
                    .any(|(g, n)| *g == group && *n == option)
                    .then_some((d.spec.group, o.name))
            })
        })
    }

    /// Loads every group (nova-conf's own are loaded by `NovaConf` itself
    /// and skipped here).
    pub(crate) fn load_all(
        &self,
        r: &Resolver<'_>,
    ) -> Result<Vec<(TypeId, LoadedGroup)>, ConfigError> {
        self.crates[1..]
            .iter()
            .flat_map(|c| c.iter())
            .map(|d| Ok(((d.type_id)(), (d.load)(r)?)))
            .collect()
    }

    /// Appends the changed options of the crates' groups.
    pub(crate) fn diff(
        &self,
        old: &[(TypeId, LoadedGroup)],
        new: &[(TypeId, LoadedGroup)],
        out: &mut Vec<String>,
    ) {
        for d in self.crates[1..].iter().flat_map(|c| c.iter()) {
            let id = (d.type_id)();
            let find = |groups: &[(TypeId, LoadedGroup)]| {
                groups
                    .iter()
                    .find(|(t, _)| *t == id)
                    .map(|(_, g)| g.clone())
            };
            if let (Some(o), Some(n)) = (find(old), find(new)) {
                (d.diff)(&o, &n, out);
            }
        }
    }
}

/// Declares one option group: a struct whose fields are options, and its
/// [`OptionGroup`](crate::OptionGroup) implementation.
///
/// ```
/// nova_conf::option_group! {
///     /// `[example]`: what the group is for.
///     pub struct ExampleGroup in "example" {
///         /// Seconds to wait; 0 waits for ever.
///         pub timeout: u64 = "30" => nova_conf::value::int(Some(0), None);
///         /// Where to write, unset by default.
///         pub path: Option<String> => nova_conf::value::string,
///             deprecated("DEFAULT", "example_path");
///         /// The password to present, never reported.
///         pub password: Option<String> => nova_conf::value::string, secret = true;
///     }
/// }
/// ```
///
/// A field with `= "text"` has that default (nova.conf text, parsed like a
/// value from a file); a field without one is an `Option` that is `None`
/// when unset. `in "group" or "DEFAULT"` also reads each option from
/// `[DEFAULT]` when the group does not set it. A trailing `secret = true`
/// marks a value that reports show masked. Only doc comments may annotate a
/// field: they are its help.
#[macro_export]
macro_rules! option_group {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $group:literal $(or $fallback:literal)? {
            $(
                $(#[doc = $doc:literal])*
                pub $field:ident : $ty:ty $(= $default:literal)? => $parse:expr
                    $(, deprecated($old_group:literal, $old_option:literal))*
                    $(, secret = $secret:literal)? ;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $crate::OptionGroup for $name {
            const SPEC: $crate::GroupSpec = $crate::GroupSpec {
                group: $group,
                fallback: $crate::option_group!(@opt $($fallback)?),
                options: &[
                    $(
                        $crate::OptionSpec {
                            name: stringify!($field),
                            default: $crate::option_group!(@opt $($default)?),
                            help: &[$($doc),*],
                            deprecated: &[$(($old_group, $old_option)),*],
                            secret: $crate::option_group!(@secret $($secret)?),
                        },
                    )*
                ],
            };

            fn load(r: &$crate::Resolver<'_>) -> ::std::result::Result<Self, $crate::ConfigError> {
                let spec = &<Self as $crate::OptionGroup>::SPEC;
                Ok(Self {
                    $( $field: $crate::option_group!(@read r, spec, stringify!($field), $parse $(, $default)?), )*
                })
            }

            fn diff(&self, new: &Self, out: &mut ::std::vec::Vec<::std::string::String>) {
                $(
                    if self.$field != new.$field {
                        out.push(format!("[{}] {}", $group, stringify!($field)));
                    }
                )*
            }
        }
    };
    (@secret) => { false };
    (@secret $v:literal) => { $v };
    (@opt) => { None };
    (@opt $v:literal) => { Some($v) };
    (@read $r:ident, $spec:ident, $name:expr, $parse:expr) => {
        $r.optional_in($spec, $name, $parse)?
    };
    (@read $r:ident, $spec:ident, $name:expr, $parse:expr, $default:literal) => {
        $r.required_in($spec, $name, $default, $parse)?
    };
}
