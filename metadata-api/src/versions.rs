//! The metadata versions nova serves: the EC2-style dates and the OpenStack
//! dates, with the comparisons that gate which fields each version carries.

/// The EC2-style versions, oldest first. `latest` means the last one.
pub const EC2_VERSIONS: [&str; 9] = [
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
];

/// The OpenStack versions, oldest first. `latest` means the last one.
pub const OPENSTACK_VERSIONS: [&str; 10] = [
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
    "2025-04-04",
];

/// One EC2-style version, as its index in [`EC2_VERSIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ec2Version(usize);

impl Ec2Version {
    /// `2007-01-19`: local-hostname, public-hostname and public-ipv4 appear.
    pub const V2007_01_19: Ec2Version = Ec2Version(1);
    /// `2007-08-29`: instance-type appears.
    pub const V2007_08_29: Ec2Version = Ec2Version(3);
    /// `2007-12-15`: block-device-mapping, kernel-id and ramdisk-id appear.
    pub const V2007_12_15: Ec2Version = Ec2Version(5);
    /// `2008-02-01`: placement/availability-zone appears.
    pub const V2008_02_01: Ec2Version = Ec2Version(6);
    /// `2008-09-01`: instance-action appears.
    pub const V2008_09_01: Ec2Version = Ec2Version(7);
    /// The newest version, what `latest` stands for.
    pub const LATEST: Ec2Version = Ec2Version(EC2_VERSIONS.len() - 1);

    /// Parses a version segment of a path (`latest` included).
    pub fn parse(segment: &str) -> Option<Ec2Version> {
        if segment == "latest" {
            return Some(Self::LATEST);
        }
        EC2_VERSIONS
            .iter()
            .position(|v| *v == segment)
            .map(Ec2Version)
    }

    /// The dated name of this version.
    pub fn name(self) -> &'static str {
        EC2_VERSIONS[self.0]
    }
}

/// One OpenStack version, as its index in [`OPENSTACK_VERSIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OsVersion(usize);

impl OsVersion {
    /// `2012-08-10`, Folsom: the first OpenStack tree.
    pub const FOLSOM: OsVersion = OsVersion(0);
    /// `2013-04-04`, Grizzly: `password` and `random_seed`.
    pub const GRIZZLY: OsVersion = OsVersion(1);
    /// `2013-10-17`, Havana: `vendor_data.json`.
    pub const HAVANA: OsVersion = OsVersion(2);
    /// `2015-10-15`, Liberty: `network_data.json` listed, `project_id`.
    pub const LIBERTY: OsVersion = OsVersion(3);
    /// `2016-06-30`, Newton (first): `devices`.
    pub const NEWTON_ONE: OsVersion = OsVersion(4);
    /// `2016-10-06`, Newton (second): `vendor_data2.json`.
    pub const NEWTON_TWO: OsVersion = OsVersion(5);
    /// `2017-02-22`, Ocata: `vlan` in devices.
    pub const OCATA: OsVersion = OsVersion(6);
    /// `2018-08-27`, Rocky: `vf_trusted` in devices.
    pub const ROCKY: OsVersion = OsVersion(7);
    /// `2020-10-14`, Victoria: `dedicated_cpus`.
    pub const VICTORIA: OsVersion = OsVersion(8);
    /// `2025-04-04`, Epoxy: share devices.
    pub const EPOXY: OsVersion = OsVersion(9);
    /// The newest version, what `latest` stands for.
    pub const LATEST: OsVersion = OsVersion(OPENSTACK_VERSIONS.len() - 1);

    /// Parses a version segment of a path (`latest` included). Versions dated
    /// in the future are accepted: nova hides them from the listing only.
    pub fn parse(segment: &str) -> Option<OsVersion> {
        if segment == "latest" {
            return Some(Self::LATEST);
        }
        OPENSTACK_VERSIONS
            .iter()
            .position(|v| *v == segment)
            .map(OsVersion)
    }

    /// The dated name of this version.
    pub fn name(self) -> &'static str {
        OPENSTACK_VERSIONS[self.0]
    }
}

/// The lines of the EC2 version listing (`/` and `/ec2`).
pub fn ec2_listing() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = EC2_VERSIONS.to_vec();
    out.push("latest");
    out
}

/// The lines of the `/openstack` listing on the UTC day `today`
/// (`YYYY-MM-DD`): versions dated after today are hidden, as nova hides
/// them, and `latest` closes the list.
pub fn openstack_listing(today: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = OPENSTACK_VERSIONS
        .iter()
        .copied()
        .filter(|v| *v <= today)
        .collect();
    out.push("latest");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_means_the_newest_dated_version() {
        assert_eq!(Ec2Version::parse("latest").unwrap().name(), "2009-04-04");
        assert_eq!(OsVersion::parse("latest").unwrap().name(), "2025-04-04");
    }

    #[test]
    fn unknown_versions_do_not_parse() {
        assert_eq!(Ec2Version::parse("2009-04-05"), None);
        assert_eq!(OsVersion::parse("2012-08-11"), None);
        assert_eq!(OsVersion::parse(""), None);
    }

    #[test]
    fn openstack_listing_hides_versions_dated_after_today() {
        let listing = openstack_listing("2020-10-13");
        assert_eq!(listing.last(), Some(&"latest"));
        assert!(listing.contains(&"2018-08-27"));
        assert!(!listing.contains(&"2020-10-14"));
        assert!(!listing.contains(&"2025-04-04"));
        let on_the_day = openstack_listing("2020-10-14");
        assert!(on_the_day.contains(&"2020-10-14"));
    }

    #[test]
    fn versions_order_like_their_dates() {
        assert!(OsVersion::GRIZZLY < OsVersion::HAVANA);
        assert_eq!(OsVersion::parse("2016-10-06"), Some(OsVersion::NEWTON_TWO));
        assert_eq!(
            Ec2Version::parse("2007-12-15"),
            Some(Ec2Version::V2007_12_15)
        );
    }
}
