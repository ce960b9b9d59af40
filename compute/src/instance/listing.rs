//! How a listing is answered: the SQL of the page's keys (filters, sort
//! and keyset paging), rows from the cache, states advanced as of now and
//! checked again.

use std::collections::BTreeSet;

use super::filter::{shown_second_start, InstanceFilter, SortDir, SortKey};
use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::states::VmState;
use crate::store::{args, now_micros, Arg, Engine};
use crate::{Compute, Error, RequestContext, Result};

impl SortKey {
    /// The SQL expression sorted on (NULLs made comparable so both engines
    /// order the same way; text compared bytewise on both engines).
    fn expr(self, engine: Engine) -> String {
        let (col, text) = match self {
            SortKey::CreatedAt => ("created_at", false),
            SortKey::UpdatedAt => ("COALESCE(updated_at, 0)", false),
            SortKey::LaunchedAt => ("COALESCE(launched_at, 0)", false),
            SortKey::TerminatedAt => ("COALESCE(terminated_at, 0)", false),
            SortKey::DisplayName => ("display_name", true),
            SortKey::Uuid => ("uuid", true),
            SortKey::Id => ("id", false),
            SortKey::VmState => ("vm_state", true),
            SortKey::TaskState => ("COALESCE(task_state, '')", true),
            SortKey::PowerState => ("power_state", false),
            SortKey::Host => ("COALESCE(host, '')", true),
            SortKey::Node => ("COALESCE(node, '')", true),
            SortKey::ProjectId => ("project_id", true),
            SortKey::UserId => ("user_id", true),
            SortKey::FlavorId => ("flavor_id", true),
            SortKey::ImageRef => ("image_ref", true),
            SortKey::KeyName => ("COALESCE(key_name, '')", true),
            SortKey::AvailabilityZone => ("availability_zone", true),
            SortKey::Hostname => ("hostname", true),
            SortKey::LaunchIndex => ("launch_index", false),
            SortKey::ReservationId => ("reservation_id", true),
        };
        match (text, engine) {
            (true, Engine::Postgres) => format!("({col}) COLLATE \"C\""),
            _ => format!("({col})"),
        }
    }

    fn marker_value(self, r: &InstanceRow) -> Arg {
        match self {
            SortKey::CreatedAt => Arg::Int(r.created_at),
            SortKey::UpdatedAt => Arg::Int(r.updated_at.unwrap_or(0)),
            SortKey::LaunchedAt => Arg::Int(r.launched_at.unwrap_or(0)),
            SortKey::TerminatedAt => Arg::Int(r.terminated_at.unwrap_or(0)),
            SortKey::DisplayName => Arg::Text(r.display_name.clone()),
            SortKey::Uuid => Arg::Text(r.uuid.clone()),
            SortKey::Id => Arg::Int(r.id),
            SortKey::VmState => Arg::Text(r.vm_state.clone()),
            SortKey::TaskState => Arg::Text(r.task_state.clone().unwrap_or_default()),
            SortKey::PowerState => Arg::Int(r.power_state),
            SortKey::Host => Arg::Text(r.host.clone().unwrap_or_default()),
            SortKey::Node => Arg::Text(r.node.clone().unwrap_or_default()),
            SortKey::ProjectId => Arg::Text(r.project_id.clone()),
            SortKey::UserId => Arg::Text(r.user_id.clone()),
            SortKey::FlavorId => Arg::Text(r.flavor_id.clone()),
            SortKey::ImageRef => Arg::Text(r.image_ref.clone()),
            SortKey::KeyName => Arg::Text(r.key_name.clone().unwrap_or_default()),
            SortKey::AvailabilityZone => Arg::Text(r.availability_zone.clone()),
            SortKey::Hostname => Arg::Text(r.hostname.clone()),
            SortKey::LaunchIndex => Arg::Int(r.launch_index),
            SortKey::ReservationId => Arg::Text(r.reservation_id.clone()),
        }
    }
}

fn compile_regex(s: &str) -> Result<regex::Regex> {
    regex::Regex::new(s).map_err(|_| Error::invalid(format!("Invalid regular expression: {s}")))
}

impl Compute {
    /// Lists instances (see [`InstanceFilter`]). Non-admins always see only
    /// their project; admin-only filters are ignored for them. An unknown
    /// marker is [`Error::Invalid`] ("marker [x] not found").
    pub async fn list_instances(
        &self,
        ctx: &RequestContext,
        filter: &InstanceFilter,
    ) -> Result<Vec<Instance>> {
        let engine = self.store.engine();
        let mut wh: Vec<String> = Vec::new();
        let mut a: Vec<Arg> = Vec::new();
        let push = |wh: &mut Vec<String>, a: &mut Vec<Arg>, clause: &str, v: Arg| {
            a.push(v);
            wh.push(clause.replace('?', &format!("${}", a.len())));
        };
        if !ctx.is_admin {
            push(
                &mut wh,
                &mut a,
                "project_id = ?",
                Arg::Text(ctx.project_id.clone()),
            );
        } else if let Some(p) = &filter.project_id {
            push(&mut wh, &mut a, "project_id = ?", Arg::Text(p.clone()));
        } else if !filter.all_projects {
            push(
                &mut wh,
                &mut a,
                "project_id = ?",
                Arg::Text(ctx.project_id.clone()),
            );
        }
        let changes = filter.changes_since.is_some() || filter.changes_before.is_some();
        let live_only = match (ctx.is_admin, filter.deleted) {
            (true, Some(true)) => {
                wh.push("deleted = TRUE".into());
                false
            }
            (true, Some(false)) => true,
            _ => !changes,
        };
        if live_only {
            wh.push("deleted = FALSE".into());
        }
        // Both bounds are inclusive of the second a client sees: times are
        // shown in whole seconds, so a server shown as updated at the bound
        // is in `changes-since` and in `changes-before` alike.
        if let Some(t) = filter.changes_since {
            push(
                &mut wh,
                &mut a,
                "COALESCE(updated_at, created_at) >= ?",
                Arg::Int(shown_second_start(t)),
            );
        }
        if let Some(t) = filter.changes_before {
            push(
                &mut wh,
                &mut a,
                "COALESCE(updated_at, created_at) < ?",
                Arg::Int(shown_second_start(t).saturating_add(1_000_000)),
            );
        }
        let text_filters: [(&str, &Option<String>); 11] = [
            ("user_id", &filter.user_id),
            ("image_ref", &filter.image_ref),
            ("flavor_id", &filter.flavor_id),
            ("host", if ctx.is_admin { &filter.host } else { &None }),
            ("node", if ctx.is_admin { &filter.node } else { &None }),
            ("key_name", &filter.key_name),
            ("reservation_id", &filter.reservation_id),
            ("availability_zone", &filter.availability_zone),
            ("hostname", &filter.hostname),
            ("access_ip_v4", &filter.access_ip_v4),
            ("access_ip_v6", &filter.access_ip_v6),
        ];
        for (col, v) in text_filters {
            if let Some(v) = v {
                push(&mut wh, &mut a, &format!("{col} = ?"), Arg::Text(v.clone()));
            }
        }
        if let Some(i) = filter.launch_index {
            push(&mut wh, &mut a, "launch_index = ?", Arg::Int(i));
        }
        if let Some(l) = filter.locked {
            push(&mut wh, &mut a, "locked = ?", Arg::Bool(l));
        }
        if let Some(l) = filter.config_drive {
            push(&mut wh, &mut a, "config_drive = ?", Arg::Bool(l));
        }
        let in_list = |wh: &mut Vec<String>, a: &mut Vec<Arg>, col: &str, vals: Vec<Arg>| {
            if vals.is_empty() {
                wh.push("1 = 0".into());
                return;
            }
            let mut ph = Vec::new();
            for v in vals {
                a.push(v);
                ph.push(format!("${}", a.len()));
            }
            wh.push(format!("{col} IN ({})", ph.join(", ")));
        };
        if let Some(v) = &filter.uuids {
            in_list(
                &mut wh,
                &mut a,
                "uuid",
                v.iter().map(|s| Arg::Text(s.clone())).collect(),
            );
        }
        if let Some(v) = &filter.ids {
            in_list(
                &mut wh,
                &mut a,
                "id",
                v.iter().map(|s| Arg::Int(*s)).collect(),
            );
        }
        // State filters. A row whose next step is due is in a later state
        // than it stores (states advance when read), so those rows are read
        // too, and every state filter is checked again once they advanced.
        let now = now_micros();
        let mut states: Vec<String> = Vec::new();
        if let Some(v) = &filter.vm_states {
            in_list(
                &mut states,
                &mut a,
                "vm_state",
                v.iter().map(|s| Arg::Text(s.as_str().into())).collect(),
            );
        }
        if let Some(v) = &filter.statuses {
            let vm_states: BTreeSet<&'static str> = v
                .iter()
                .filter_map(|s| crate::states::vm_states_for_status(s))
                .flatten()
                .map(VmState::as_str)
                .collect();
            in_list(
                &mut states,
                &mut a,
                "vm_state",
                vm_states.into_iter().map(|s| Arg::Text(s.into())).collect(),
            );
        }
        if let Some(v) = &filter.task_states {
            in_list(
                &mut states,
                &mut a,
                "task_state",
                v.iter().map(|s| Arg::Text(s.as_str().into())).collect(),
            );
        }
        if let Some(v) = &filter.power_states {
            in_list(
                &mut states,
                &mut a,
                "power_state",
                v.iter().map(|s| Arg::Int(s.code())).collect(),
            );
        }
        let state_filtered = !states.is_empty();
        if state_filtered {
            a.push(Arg::Int(now));
            wh.push(format!(
                "(({}) OR (step_due_at IS NOT NULL AND step_due_at <= ${}))",
                states.join(" AND "),
                a.len()
            ));
        }

        let mut sort = if filter.sort.is_empty() {
            vec![(SortKey::CreatedAt, SortDir::Desc)]
        } else {
            filter.sort.clone()
        };
        if !sort.iter().any(|(k, _)| *k == SortKey::Id) {
            let dir = sort[0].1;
            sort.push((SortKey::Id, dir));
        }
        if let Some(m) = &filter.marker {
            let mrow: Option<InstanceRow> = self
                .store
                .fetch_optional(
                    &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE uuid = $1"),
                    args![m],
                )
                .await?;
            let mrow = mrow
                .filter(|r| ctx.can_access_project(&r.project_id))
                .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
            // Keyset paging: rows strictly after the marker in sort order.
            let mut ors = Vec::new();
            for i in 0..sort.len() {
                let mut ands = Vec::new();
                for (k, _) in &sort[..i] {
                    a.push(k.marker_value(&mrow));
                    ands.push(format!("{} = ${}", k.expr(engine), a.len()));
                }
                let (k, d) = sort[i];
                a.push(k.marker_value(&mrow));
                let op = if d == SortDir::Asc { ">" } else { "<" };
                ands.push(format!("{} {op} ${}", k.expr(engine), a.len()));
                ors.push(format!("({})", ands.join(" AND ")));
            }
            wh.push(format!("({})", ors.join(" OR ")));
        }
        let order: Vec<String> = sort
            .iter()
            .map(|(k, d)| {
                format!(
                    "{} {}",
                    k.expr(engine),
                    if *d == SortDir::Asc { "ASC" } else { "DESC" }
                )
            })
            .collect();
        let name_re = filter.name.as_deref().map(compile_regex).transpose()?;
        let ip_re = filter.ip.as_deref().map(compile_regex).transpose()?;
        let ip6_re = filter.ip6.as_deref().map(compile_regex).transpose()?;
        let post_filter = state_filtered
            || name_re.is_some()
            || ip_re.is_some()
            || ip6_re.is_some()
            || !filter.tags.is_empty()
            || !filter.tags_any.is_empty()
            || !filter.not_tags.is_empty()
            || !filter.not_tags_any.is_empty();
        // Only the keys: full rows come from the per-process cache when
        // their `state_seq` still matches (see `RowCache`).
        let mut sql = "SELECT id, state_seq FROM instances".to_string();
        if !wh.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wh.join(" AND "));
        }
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
        if let (Some(l), false) = (filter.limit, post_filter) {
            // SQL's LIMIT is a BIGINT; no table holds i64::MAX rows anyway.
            let l = i64::try_from(l).unwrap_or(i64::MAX);
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let keys: Vec<(i64, i64)> = self.store.fetch_all(&sql, a).await?;
        let rows = self.cache.rows(&self.store, &keys).await?;
        let page_was_full = filter.limit.is_some_and(|l| rows.len() >= l);
        let last_read = rows.last().map(|r| r.row.uuid.clone());
        let mut completed_deletes = 0;
        let mut out = Vec::with_capacity(rows.len());
        for cached in rows {
            let row = &cached.row;
            if post_filter {
                if let Some(re) = &name_re {
                    if !re.is_match(&row.display_name) {
                        continue;
                    }
                }
                if let Some(re) = &ip_re {
                    if !row.fixed_ip.as_deref().is_some_and(|ip| re.is_match(ip)) {
                        continue;
                    }
                }
                if let Some(re) = &ip6_re {
                    if !row
                        .access_ip_v6
                        .as_deref()
                        .is_some_and(|ip| re.is_match(ip))
                    {
                        continue;
                    }
                }
                let tags = &cached.instance.tags;
                let has = |t: &String| tags.contains(t);
                if !filter.tags.iter().all(has)
                    || (!filter.tags_any.is_empty() && !filter.tags_any.iter().any(has))
                    || (!filter.not_tags.is_empty() && filter.not_tags.iter().all(has))
                    || filter.not_tags_any.iter().any(has)
                {
                    continue;
                }
            }
            let instance = if row.step_due_at.is_some_and(|d| d <= now) {
                self.advance(row.clone()).await?.to_instance()
            } else {
                cached.instance.clone()
            };
            // A delete that completes as the listing advances the row is
            // as good as done: a live-only listing never shows it.
            if live_only && instance.deleted {
                completed_deletes += 1;
                continue;
            }
            if state_filtered && !filter.state_matches(&instance) {
                continue;
            }
            out.push(instance);
            if post_filter && filter.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        // A page cut by SQL's LIMIT lost the rows whose delete completed
        // above: the rows after the last one read fill it again.
        if let (true, false, true, Some(last)) =
            (completed_deletes > 0, post_filter, page_was_full, last_read)
        {
            let rest = InstanceFilter {
                marker: Some(last),
                limit: Some(completed_deletes),
                ..filter.clone()
            };
            out.extend(Box::pin(self.list_instances(ctx, &rest)).await?);
        }
        Ok(out)
    }
}
