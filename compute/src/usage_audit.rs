//! The instance usage audit (nova's os-instance_usage_audit_log): with
//! `[DEFAULT] instance_usage_audit` on, every compute host audits the
//! instances it ran in each completed period of
//! `instance_usage_audit_period` and logs the task; the API reports the
//! logs of the last period completed before a given time.
//!
//! The simulated hosts run each audit the moment its period ends, so the
//! log of a completed period is a function of the store: it is computed
//! when asked for (the instances of each host active at any time in the
//! period), not written by a periodic task. With the audit off, no host
//! ever ran it, which is what nova reports too.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::store::args;
use crate::{Compute, RequestContext, Result};

/// The unit of an audit period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditUnit {
    /// Hours, starting `offset` minutes past the hour.
    Hour,
    /// Days, starting at hour `offset`.
    Day,
    /// Months, starting on day `offset` (1 when 0).
    Month,
    /// Years, starting on the first of month `offset` (1 when 0).
    Year,
}

/// `[DEFAULT] instance_usage_audit_period`: `hour`, `day`, `month` or
/// `year`, optionally `@offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPeriod {
    /// The unit.
    pub unit: AuditUnit,
    /// Where in the unit a period starts.
    pub offset: u32,
}

impl Default for AuditPeriod {
    fn default() -> Self {
        AuditPeriod {
            unit: AuditUnit::Month,
            offset: 0,
        }
    }
}

impl std::str::FromStr for AuditPeriod {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let (unit, offset) = match text.trim().split_once('@') {
            Some((unit, offset)) => (
                unit,
                offset
                    .parse::<u32>()
                    .map_err(|_| format!("invalid offset {offset:?}: expected a number"))?,
            ),
            None => (text.trim(), 0),
        };
        let (unit, most) = match unit {
            "hour" => (AuditUnit::Hour, 59),
            "day" => (AuditUnit::Day, 23),
            "month" => (AuditUnit::Month, 28),
            "year" => (AuditUnit::Year, 12),
            _ => return Err("Time period must be hour, day, month or year".to_owned()),
        };
        if offset > most {
            return Err(format!("the offset of a {unit:?} period is at most {most}").to_lowercase());
        }
        Ok(AuditPeriod { unit, offset })
    }
}

/// What the instance usage audit is configured to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageAuditConfig {
    /// `[DEFAULT] instance_usage_audit` (false).
    pub enabled: bool,
    /// `[DEFAULT] instance_usage_audit_period` (`month`).
    pub period: AuditPeriod,
}

fn at(date: Option<NaiveDate>, hour: u32) -> NaiveDateTime {
    date.and_then(|d| d.and_hms_opt(hour, 0, 0))
        .unwrap_or(NaiveDateTime::MIN)
}

/// The month before `year`-`month`.
fn previous_month(year: i32, month: u32) -> (i32, u32) {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

impl AuditPeriod {
    /// The last period that ended before `now`: (beginning, ending).
    pub fn last_completed(&self, now: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        match self.unit {
            AuditUnit::Hour => {
                let mut end = now
                    .with_minute(self.offset)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(now);
                if end >= now {
                    end -= Duration::hours(1);
                }
                (end - Duration::hours(1), end)
            }
            AuditUnit::Day => {
                let mut end = at(Some(now.date()), self.offset);
                if end >= now {
                    end -= Duration::days(1);
                }
                (end - Duration::days(1), end)
            }
            AuditUnit::Month => {
                let day = self.offset.max(1);
                let month_start = |(y, m): (i32, u32)| at(NaiveDate::from_ymd_opt(y, m, day), 0);
                let mut end = (now.year(), now.month());
                if month_start(end) >= now {
                    end = previous_month(end.0, end.1);
                }
                (month_start(previous_month(end.0, end.1)), month_start(end))
            }
            AuditUnit::Year => {
                let month = self.offset.max(1);
                let year_start = |y: i32| at(NaiveDate::from_ymd_opt(y, month, 1), 0);
                let mut end = now.year();
                if year_start(end) >= now {
                    end -= 1;
                }
                (year_start(end - 1), year_start(end))
            }
        }
    }
}

/// One host's audit of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAudit {
    /// The host.
    pub host: String,
    /// `DONE` (the simulated audit never stays `RUNNING`).
    pub state: String,
    /// Instances audited.
    pub instances: i64,
    /// Errors.
    pub errors: i64,
    /// The task's message.
    pub message: String,
}

/// The audit logs of one period over every compute host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageAuditLog {
    /// The period's beginning.
    pub period_beginning: NaiveDateTime,
    /// Its ending.
    pub period_ending: NaiveDateTime,
    /// Every compute host (disabled ones too).
    pub hosts: Vec<String>,
    /// The hosts that logged an audit of the period.
    pub logs: Vec<HostAudit>,
}

impl Compute {
    /// The audit logs of the last period completed before `before`
    /// (default: now). Admin only.
    pub async fn instance_usage_audit_log(
        &self,
        ctx: &RequestContext,
        action: &str,
        before: Option<NaiveDateTime>,
    ) -> Result<UsageAuditLog> {
        ctx.require_admin(&format!(
            "os_compute_api:os-instance-usage-audit-log:{action}"
        ))?;
        let now = before.unwrap_or_else(|| Utc::now().naive_utc());
        let (begin, end) = self.config.usage_audit.period.last_completed(now);
        let hosts: Vec<String> = self.config.hosts.iter().map(|h| h.name.clone()).collect();
        let mut logs = Vec::new();
        // A period that has not ended yet in real time was not audited.
        if self.config.usage_audit.enabled && end <= Utc::now().naive_utc() {
            let micros = |t: NaiveDateTime| Utc.from_utc_datetime(&t).timestamp_micros();
            let counts: Vec<(Option<String>, i64)> = self
                .store
                .fetch_all(
                    "SELECT host, COUNT(*) FROM instances WHERE created_at < $1 \
                     AND (deleted_at IS NULL OR deleted_at > $2) GROUP BY host",
                    args![micros(end), micros(begin)],
                )
                .await?;
            for host in &hosts {
                let instances = counts
                    .iter()
                    .find(|(h, _)| h.as_deref() == Some(host.as_str()))
                    .map_or(0, |(_, n)| *n);
                logs.push(HostAudit {
                    host: host.clone(),
                    state: "DONE".to_owned(),
                    instances,
                    errors: 0,
                    message: format!(
                        "Instance usage audit ran for host {host}, {instances} instances in 0 seconds."
                    ),
                });
            }
        }
        Ok(UsageAuditLog {
            period_beginning: begin,
            period_ending: end,
            hosts,
            logs,
        })
    }
}

/// When `when` is, as nova prints a period bound (`2012-06-01 00:00:00`).
pub fn period_text(when: &NaiveDateTime) -> String {
    when.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimHost;
    use crate::{ComputeConfig, CreateInstance, Store, StoreOptions};

    /// A cloud of two hosts with the audit on and three instances made
    /// on `compute1` (two) and `compute2` (one), backdated by SQL into June
    /// 2012; one of compute1's was deleted before June.
    async fn audited_cloud() -> Compute {
        let store = Store::connect("sqlite://", StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let config = ComputeConfig {
            hosts: vec![SimHost::new("compute1"), SimHost::new("compute2")],
            usage_audit: UsageAuditConfig {
                enabled: true,
                period: AuditPeriod::default(),
            },
            ..ComputeConfig::instant()
        };
        let compute = Compute::new(store, config);
        let ctx = RequestContext::admin("u", "p");
        for (host, created, deleted) in [
            ("compute1", "2012-06-10 00:00:00", None),
            (
                "compute1",
                "2012-04-10 00:00:00",
                Some("2012-05-02 00:00:00"),
            ),
            ("compute2", "2012-05-20 00:00:00", None),
        ] {
            let made = compute
                .create_instances(
                    &ctx,
                    CreateInstance {
                        name: "vm".into(),
                        flavor_id: "1".into(),
                        image_ref: crate::CIRROS_IMAGE_UUID.into(),
                        host: Some(host.into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let micros = |text: &str| Utc.from_utc_datetime(&t(text)).timestamp_micros();
            compute
                .store
                .execute(
                    "UPDATE instances SET created_at = $1, deleted_at = $2 WHERE uuid = $3",
                    args![
                        micros(created),
                        deleted.map(micros),
                        &made.instances[0].uuid
                    ],
                )
                .await
                .unwrap();
        }
        compute
    }

    #[tokio::test]
    async fn each_host_audits_the_instances_it_ran_in_the_period() {
        let compute = audited_cloud().await;
        let admin = RequestContext::admin("a", "admin");

        let june = compute
            .instance_usage_audit_log(&admin, "show", Some(t("2012-07-05 00:00:00")))
            .await
            .unwrap();

        assert_eq!(
            (june.period_beginning, june.period_ending),
            (t("2012-06-01 00:00:00"), t("2012-07-01 00:00:00"))
        );
        let counts: Vec<(&str, i64)> = june
            .logs
            .iter()
            .map(|l| (l.host.as_str(), l.instances))
            .collect();
        assert_eq!(counts, [("compute1", 1), ("compute2", 1)]);
        assert_eq!(
            june.logs[0].message,
            "Instance usage audit ran for host compute1, 1 instances in 0 seconds."
        );
    }

    #[tokio::test]
    async fn only_admins_read_the_audit() {
        let compute = audited_cloud().await;
        let member = RequestContext::new("u", "p");

        let refused = compute
            .instance_usage_audit_log(&member, "list", None)
            .await
            .unwrap_err();

        assert_eq!(
            refused.to_string(),
            "Policy doesn't allow os_compute_api:os-instance-usage-audit-log:list to be performed."
        );
    }

    fn t(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn period(text: &str) -> AuditPeriod {
        text.parse().unwrap()
    }

    #[test]
    fn the_last_completed_month_is_the_one_before_the_current() {
        let (b, e) = period("month").last_completed(t("2012-07-15 10:00:00"));
        assert_eq!((b, e), (t("2012-06-01 00:00:00"), t("2012-07-01 00:00:00")));
        // On the first instant of a month, that month has not begun a
        // completed period yet.
        let (b, e) = period("month").last_completed(t("2012-07-01 00:00:00"));
        assert_eq!((b, e), (t("2012-05-01 00:00:00"), t("2012-06-01 00:00:00")));
        let (b, e) = period("month").last_completed(t("2013-01-10 00:00:00"));
        assert_eq!((b, e), (t("2012-12-01 00:00:00"), t("2013-01-01 00:00:00")));
    }

    #[test]
    fn an_offset_moves_where_each_unit_starts() {
        let (b, e) = period("month@15").last_completed(t("2012-07-10 00:00:00"));
        assert_eq!((b, e), (t("2012-05-15 00:00:00"), t("2012-06-15 00:00:00")));
        let (b, e) = period("day@6").last_completed(t("2012-07-10 05:00:00"));
        assert_eq!((b, e), (t("2012-07-08 06:00:00"), t("2012-07-09 06:00:00")));
        let (b, e) = period("hour@30").last_completed(t("2012-07-10 05:45:00"));
        assert_eq!((b, e), (t("2012-07-10 04:30:00"), t("2012-07-10 05:30:00")));
        let (b, e) = period("year").last_completed(t("2012-07-10 05:45:00"));
        assert_eq!((b, e), (t("2011-01-01 00:00:00"), t("2012-01-01 00:00:00")));
    }

    #[test]
    fn a_period_must_name_a_known_unit_and_a_fitting_offset() {
        assert_eq!(
            "week".parse::<AuditPeriod>().unwrap_err(),
            "Time period must be hour, day, month or year"
        );
        assert!("month@29".parse::<AuditPeriod>().is_err());
        assert!("day@x".parse::<AuditPeriod>().is_err());
        assert_eq!(period(" day@23 ").offset, 23);
    }
}
