//! The path router of the metadata service: it turns a request path into a
//! [`Route`] the way nova's `lookup` does (POSIX normalisation, an implicit
//! `ec2/` prefix, version checks), without knowing which instance asks.
//!
//! [`route`] is total: it returns a route for every string and never panics,
//! which makes it the crate's fuzz target.

use percent_encoding::percent_decode_str;

use crate::versions::{Ec2Version, OsVersion};

/// What a request path asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/` itself: the EC2 version list, served to anyone.
    Root,
    /// `/ec2`: the EC2 version list again, but only to an instance.
    Ec2Versions,
    /// `/openstack`: the OpenStack version list (future versions hidden).
    OpenStackVersions,
    /// A path under an EC2 version: the remaining segments are looked up in
    /// the instance's tree (empty: the version's own listing).
    Ec2 {
        /// The version asked for.
        version: Ec2Version,
        /// The segments after the version.
        rest: Vec<String>,
    },
    /// A file (or the listing) of an OpenStack version.
    OpenStack {
        /// The version asked for.
        version: OsVersion,
        /// What in that version.
        item: OsItem,
    },
    /// `/openstack/content/<key>`: an injected file's contents.
    Content(String),
    /// Nothing nova serves at this path (404 once the caller is known).
    NotFound,
}

/// The entries of an OpenStack version directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsItem {
    /// The version directory itself: the list of files.
    Listing,
    /// `meta_data.json`.
    MetaData,
    /// `user_data`.
    UserData,
    /// `password` (Grizzly and later).
    Password,
    /// `vendor_data.json` (Havana and later).
    VendorData,
    /// `vendor_data2.json` (Newton and later).
    VendorData2,
    /// `network_data.json` (served for every version, listed from Liberty).
    NetworkData,
}

/// A file of an OpenStack version directory.
#[derive(Clone, Copy, Debug)]
pub struct OpenStackFile {
    /// Its name in the directory.
    pub name: &'static str,
    /// What it is.
    pub item: OsItem,
    /// The first version that serves it.
    pub since: OsVersion,
}

/// The files of an OpenStack version directory: the router serves a name
/// only from the version its row gives (and `docs/served.md` lists them).
pub const OPENSTACK_FILES: &[OpenStackFile] = &[
    OpenStackFile {
        name: "meta_data.json",
        item: OsItem::MetaData,
        since: OsVersion::FOLSOM,
    },
    OpenStackFile {
        name: "user_data",
        item: OsItem::UserData,
        since: OsVersion::FOLSOM,
    },
    OpenStackFile {
        name: "password",
        item: OsItem::Password,
        since: OsVersion::GRIZZLY,
    },
    OpenStackFile {
        name: "vendor_data.json",
        item: OsItem::VendorData,
        since: OsVersion::HAVANA,
    },
    OpenStackFile {
        name: "vendor_data2.json",
        item: OsItem::VendorData2,
        since: OsVersion::NEWTON_TWO,
    },
    OpenStackFile {
        name: "network_data.json",
        item: OsItem::NetworkData,
        since: OsVersion::FOLSOM,
    },
];

/// One form of path the service answers, for the docs.
#[derive(Clone, Copy, Debug)]
pub struct PathForm {
    /// The form, with `{placeholders}`.
    pub path: &'static str,
    /// The method(s).
    pub methods: &'static str,
    /// A path of that form (a test routes it).
    pub example: &'static str,
    /// What it answers.
    pub what: &'static str,
}

/// The forms of path [`route`] (and the token endpoint) answer.
pub const PATH_FORMS: &[PathForm] = &[
    PathForm {
        path: "/",
        methods: "GET",
        example: "/",
        what: "the EC2-style version list, to anyone",
    },
    PathForm {
        path: "/ec2",
        methods: "GET",
        example: "/ec2",
        what: "the EC2-style version list, to an instance",
    },
    PathForm {
        path: "/{ec2-version}/...",
        methods: "GET",
        example: "/2009-04-04/meta-data/instance-id",
        what: "the EC2-style tree (`meta-data/...`, `user-data`); `/ec2/{ec2-version}/...` too",
    },
    PathForm {
        path: "/openstack",
        methods: "GET",
        example: "/openstack",
        what: "the OpenStack version list (versions dated after today hidden)",
    },
    PathForm {
        path: "/openstack/{version}",
        methods: "GET",
        example: "/openstack/latest",
        what: "the files of that version (table below)",
    },
    PathForm {
        path: "/openstack/{version}/{file}",
        methods: "GET (`password`: POST too)",
        example: "/openstack/2013-04-04/password",
        what: "one file of the version (table below)",
    },
    PathForm {
        path: "/openstack/content/{key}",
        methods: "GET",
        example: "/openstack/content/0000",
        what: "an injected (personality) file's contents",
    },
    PathForm {
        path: "/latest/api/token",
        methods: "PUT",
        example: "/latest/api/token",
        what: "an IMDSv2 session token",
    },
];

/// Decodes the percent-escapes of a raw URI path, as WSGI's `PATH_INFO` is
/// decoded before nova sees it. Bytes that are not UTF-8 become U+FFFD.
pub fn decode_path(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Python's `posixpath.normpath`: collapses `//`, `.` and `..`; keeps exactly
/// two leading slashes when there are exactly two; an empty result is `.`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let initial_slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial_slashes == 0 && comps.is_empty()) || comps.last() == Some(&"..")
        {
            comps.push(comp);
        } else {
            comps.pop();
        }
    }
    let joined = comps.join("/");
    let out = format!("{}{}", "/".repeat(initial_slashes), joined);
    if out.is_empty() {
        ".".to_owned()
    } else {
        out
    }
}

/// Whether a decoded path is the root listing that nova answers before it
/// identifies the caller.
pub fn is_root(path: &str) -> bool {
    normpath(path) == "/"
}

/// Whether a decoded path names the IMDSv2 session-token endpoint.
pub fn is_token_path(path: &str) -> bool {
    normpath(path) == "/latest/api/token"
}

/// The fuzzing entry point: routes arbitrary bytes taken as a raw request
/// path (percent-escapes included). Never panics.
pub fn route_bytes(raw: &[u8]) -> Route {
    route(&decode_path(&String::from_utf8_lossy(raw)))
}

/// Routes a decoded request path. Never panics.
pub fn route(path: &str) -> Route {
    if is_root(path) {
        return Route::Root;
    }
    let normalised = if path.starts_with('/') {
        normpath(path)
    } else {
        normpath(&format!("/{path}"))
    };
    // Everything after the first character, split: "/a/b" gives ["a", "b"],
    // "//a" gives ["", "a"] exactly as nova's `path.split('/')[1:]` does.
    let mut tokens: Vec<&str> = normalised.split('/').skip(1).collect();
    if tokens.is_empty() {
        // normpath never returns a path without a slash here; be total anyway.
        return Route::NotFound;
    }
    if tokens[0] != "ec2" && tokens[0] != "openstack" {
        if tokens[0].is_empty() {
            tokens = vec!["ec2"];
        } else {
            tokens.insert(0, "ec2");
        }
    }
    let is_openstack = tokens[0] == "openstack";
    let rest = &tokens[1..];
    if rest.is_empty() {
        return if is_openstack {
            Route::OpenStackVersions
        } else {
            Route::Ec2Versions
        };
    }
    if is_openstack {
        route_openstack(rest)
    } else {
        match Ec2Version::parse(rest[0]) {
            Some(version) => Route::Ec2 {
                version,
                rest: rest[1..].iter().map(|s| (*s).to_owned()).collect(),
            },
            None => Route::NotFound,
        }
    }
}

fn route_openstack(tokens: &[&str]) -> Route {
    if tokens[0] == "content" {
        return match tokens {
            [_, key] => Route::Content((*key).to_owned()),
            _ => Route::NotFound,
        };
    }
    let Some(version) = OsVersion::parse(tokens[0]) else {
        return Route::NotFound;
    };
    let item = if tokens.len() == 1 {
        OsItem::Listing
    } else {
        let name = tokens[1..].join("/");
        match OPENSTACK_FILES
            .iter()
            .find(|file| file.name == name && version >= file.since)
        {
            Some(file) => file.item,
            None => return Route::NotFound,
        }
    };
    Route::OpenStack { version, item }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_path_form_is_routed() {
        for form in PATH_FORMS {
            let routed = route(form.example) != Route::NotFound;
            assert!(
                routed || is_token_path(form.example),
                "{} ({}) is not routed",
                form.path,
                form.example
            );
        }
    }

    #[test]
    fn every_openstack_file_is_served_from_its_version_on_and_not_before() {
        for file in OPENSTACK_FILES {
            for (index, version) in crate::versions::OPENSTACK_VERSIONS.iter().enumerate() {
                let routed = route(&format!("/openstack/{version}/{}", file.name));
                let parsed = OsVersion::parse(version).unwrap();
                if parsed >= file.since {
                    assert_eq!(
                        routed,
                        Route::OpenStack {
                            version: parsed,
                            item: file.item
                        },
                        "{} at {version} ({index})",
                        file.name
                    );
                } else {
                    assert_eq!(routed, Route::NotFound, "{} at {version}", file.name);
                }
            }
        }
    }

    #[test]
    fn normpath_matches_python_posixpath() {
        for (input, expected) in [
            ("", "."),
            ("/", "/"),
            ("//", "//"),
            ("///", "/"),
            ("/latest/meta-data/", "/latest/meta-data"),
            ("/a/./b/../c", "/a/c"),
            ("/../..", "/"),
            ("a/../..", ".."),
            ("//openstack", "//openstack"),
            ("/x//y", "/x/y"),
        ] {
            assert_eq!(normpath(input), expected, "normpath({input:?})");
        }
    }

    #[test]
    fn root_forms_are_the_root_listing() {
        assert_eq!(route("/"), Route::Root);
        assert_eq!(route("/./"), Route::Root);
        assert_eq!(route("/latest/.."), Route::Root);
    }

    #[test]
    fn paths_without_a_tree_prefix_are_ec2_paths() {
        let expected = Route::Ec2 {
            version: Ec2Version::LATEST,
            rest: vec!["meta-data".into(), "instance-id".into()],
        };
        assert_eq!(route("/latest/meta-data/instance-id"), expected);
        assert_eq!(route("/ec2/latest/meta-data/instance-id/"), expected);
        assert_eq!(route("/2009-04-04/meta-data/instance-id"), expected);
        assert_eq!(route("/ec2"), Route::Ec2Versions);
        assert_eq!(route("/2021-03-23/meta-data/instance-id"), Route::NotFound);
    }

    #[test]
    fn openstack_files_are_gated_by_version() {
        assert_eq!(route("/openstack"), Route::OpenStackVersions);
        assert_eq!(route("/openstack/"), Route::OpenStackVersions);
        assert_eq!(
            route("/openstack/2012-08-10/password"),
            Route::NotFound,
            "password arrived in Grizzly"
        );
        assert_eq!(
            route("/openstack/2013-04-04/password"),
            Route::OpenStack {
                version: OsVersion::GRIZZLY,
                item: OsItem::Password
            }
        );
        assert_eq!(
            route("/openstack/2013-04-04/vendor_data.json"),
            Route::NotFound
        );
        assert_eq!(
            route("/openstack/2015-10-15/vendor_data2.json"),
            Route::NotFound
        );
        assert_eq!(
            route("/openstack/2012-08-10/network_data.json"),
            Route::OpenStack {
                version: OsVersion::FOLSOM,
                item: OsItem::NetworkData
            }
        );
        assert_eq!(
            route("/openstack/latest/"),
            Route::OpenStack {
                version: OsVersion::LATEST,
                item: OsItem::Listing
            }
        );
        assert_eq!(route("/openstack/latest/meta_data.json/x"), Route::NotFound);
        assert_eq!(
            route("/openstack/1999-01-01/meta_data.json"),
            Route::NotFound
        );
    }

    #[test]
    fn openstack_content_needs_exactly_one_key() {
        assert_eq!(
            route("/openstack/content/0000"),
            Route::Content("0000".into())
        );
        assert_eq!(route("/openstack/content"), Route::NotFound);
        assert_eq!(route("/openstack/content/0000/x"), Route::NotFound);
    }

    #[test]
    fn percent_escapes_are_decoded_before_routing() {
        assert_eq!(
            route(&decode_path("/openstack/latest/meta%5Fdata.json")),
            Route::OpenStack {
                version: OsVersion::LATEST,
                item: OsItem::MetaData
            }
        );
    }

    #[test]
    fn token_path_is_recognised_with_or_without_trailing_slash() {
        assert!(is_token_path("/latest/api/token"));
        assert!(is_token_path("/latest/api/token/"));
        assert!(!is_token_path("/2009-04-04/api/token"));
    }

    #[test]
    fn router_is_total_on_awkward_inputs() {
        let long = "/a".repeat(5000);
        for input in [
            "",
            ".",
            "..",
            "//",
            "///",
            "/..",
            "a",
            "/\u{0}",
            "/openstack/../../..",
            "/openstack/latest/../../ec2",
            "%",
            "%zz",
            "/%ff%fe",
            long.as_str(),
            "/\u{1F600}/",
        ] {
            let _ = route(&decode_path(input));
        }
        assert_eq!(route("/openstack/latest/../../ec2"), Route::Ec2Versions);
    }
}
