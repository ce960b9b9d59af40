//! How a listing is answered: the SQL of a page's keys, built with sqlx's
//! `QueryBuilder` (every filter SQL can check, the sort and keyset paging,
//! then `LIMIT`), rows from the cache, states advanced as of now and
//! checked again, and the page filled again when rows fell out after the
//! read.
//!
//! Every filter is in the SQL but the regular expressions (`name`, `ip`,
//! `ip6`): they are Python-style, as nova's API takes them, and neither
//! engine matches them the same way (SQLite has no `REGEXP`; PostgreSQL's
//! `~` is another dialect), so they are matched on the rows read.

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::cache::RowKey;
use super::filter::{shown_second_start, InstanceFilter, SortDir, SortKey};
use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::states::{api_status, TaskState, VmState};
use crate::store::{args, now_micros, push_in, BuildQuery, Dialect, Engine};
use crate::{Compute, Error, RequestContext, Result};

/// Rows read at least at once while regular expressions are matched on
/// the rows read (they may leave out most of them).
const REGEX_BATCH: usize = 500;

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

    /// Binds `r`'s value of [`SortKey::expr`].
    fn push_value<'a, DB>(self, qb: &mut QueryBuilder<'a, DB>, r: &InstanceRow)
    where
        DB: Database,
        i64: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
    {
        let text = |s: &str| s.to_string();
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        match self {
            SortKey::CreatedAt => qb.push_bind(r.created_at),
            SortKey::UpdatedAt => qb.push_bind(r.updated_at.unwrap_or(0)),
            SortKey::LaunchedAt => qb.push_bind(r.launched_at.unwrap_or(0)),
            SortKey::TerminatedAt => qb.push_bind(r.terminated_at.unwrap_or(0)),
            SortKey::DisplayName => qb.push_bind(text(&r.display_name)),
            SortKey::Uuid => qb.push_bind(text(&r.uuid)),
            SortKey::Id => qb.push_bind(r.id),
            SortKey::VmState => qb.push_bind(text(&r.vm_state)),
            SortKey::TaskState => qb.push_bind(opt(&r.task_state)),
            SortKey::PowerState => qb.push_bind(r.power_state),
            SortKey::Host => qb.push_bind(opt(&r.host)),
            SortKey::Node => qb.push_bind(opt(&r.node)),
            SortKey::ProjectId => qb.push_bind(text(&r.project_id)),
            SortKey::UserId => qb.push_bind(text(&r.user_id)),
            SortKey::FlavorId => qb.push_bind(text(&r.flavor_id)),
            SortKey::ImageRef => qb.push_bind(text(&r.image_ref)),
            SortKey::KeyName => qb.push_bind(opt(&r.key_name)),
            SortKey::AvailabilityZone => qb.push_bind(text(&r.availability_zone)),
            SortKey::Hostname => qb.push_bind(text(&r.hostname)),
            SortKey::LaunchIndex => qb.push_bind(r.launch_index),
            SortKey::ReservationId => qb.push_bind(text(&r.reservation_id)),
        };
    }
}

fn compile_regex(s: &str) -> Result<regex::Regex> {
    regex::Regex::new(s).map_err(|_| Error::invalid(format!("Invalid regular expression: {s}")))
}

/// The regular expressions of a filter, matched on the rows read.
struct Patterns {
    name: Option<regex::Regex>,
    ip: Option<regex::Regex>,
    ip6: Option<regex::Regex>,
}

impl Patterns {
    fn compile(filter: &InstanceFilter) -> Result<Self> {
        Ok(Patterns {
            name: filter.name.as_deref().map(compile_regex).transpose()?,
            ip: filter.ip.as_deref().map(compile_regex).transpose()?,
            ip6: filter.ip6.as_deref().map(compile_regex).transpose()?,
        })
    }

    fn any(&self) -> bool {
        self.name.is_some() || self.ip.is_some() || self.ip6.is_some()
    }

    fn match_row(&self, row: &InstanceRow) -> bool {
        let matches = |re: &Option<regex::Regex>, v: Option<&str>| {
            re.as_ref()
                .is_none_or(|re| v.is_some_and(|v| re.is_match(v)))
        };
        matches(&self.name, Some(&row.display_name))
    }

    /// Whether addresses are matched (the instances need their ports).
    fn on_addresses(&self) -> bool {
        self.ip.is_some() || self.ip6.is_some()
    }

    /// `ip` against the instance's IPv4 addresses (fixed and floating),
    /// `ip6` against its IPv6 ones and its `accessIPv6`.
    fn match_addresses(&self, instance: &Instance) -> bool {
        let fixed = instance.vifs.iter().flat_map(|v| &v.fixed_ips);
        let v4 = fixed
            .clone()
            .filter(|ip| ip.address.is_ipv4())
            .map(|ip| ip.address.to_string())
            .chain(
                instance
                    .vifs
                    .iter()
                    .flat_map(|v| &v.floating_ips)
                    .map(|ip| ip.to_string()),
            );
        let v6 = fixed
            .filter(|ip| ip.address.is_ipv6())
            .map(|ip| ip.address.to_string())
            .chain(instance.access_ip_v6.clone());
        let any = |re: &Option<regex::Regex>, mut values: Box<dyn Iterator<Item = String> + '_>| {
            re.as_ref().is_none_or(|re| values.any(|v| re.is_match(&v)))
        };
        any(&self.ip, Box::new(v4)) && any(&self.ip6, Box::new(v6))
    }
}

/// Whether a listing shows live rows only: admins choose with `deleted`;
/// otherwise deleted rows show only in a changes listing.
fn live_only(ctx: &RequestContext, filter: &InstanceFilter) -> bool {
    let changes = filter.changes_since.is_some() || filter.changes_before.is_some();
    match (ctx.is_admin, filter.deleted) {
        (true, Some(deleted)) => !deleted,
        _ => !changes,
    }
}

/// Whether a state filter is set: rows whose next step is due are then
/// read whatever state they store, and checked once advanced.
fn state_filtered(filter: &InstanceFilter) -> bool {
    filter.vm_states.is_some()
        || filter.statuses.is_some()
        || filter.task_states.is_some()
        || filter.power_states.is_some()
}

/// The sort of a listing: the filter's (created_at descending when none),
/// then id, in the first key's direction, unless sorted on already.
fn sort_order(filter: &InstanceFilter) -> Vec<(SortKey, SortDir)> {
    let mut sort = if filter.sort.is_empty() {
        vec![(SortKey::CreatedAt, SortDir::Desc)]
    } else {
        filter.sort.clone()
    };
    if !sort.iter().any(|(k, _)| *k == SortKey::Id) {
        let dir = sort[0].1;
        sort.push((SortKey::Id, dir));
    }
    sort
}

/// One read of a listing: the [`RowKey`]s of the rows after
/// `after` in sort order that pass every filter but the regular
/// expressions, at most `limit` of them.
struct PageQuery<'q> {
    ctx: &'q RequestContext,
    filter: &'q InstanceFilter,
    live_only: bool,
    sort: &'q [(SortKey, SortDir)],
    after: Option<&'q InstanceRow>,
    /// Rows whose next step is due at this time are read whatever state
    /// they store.
    now: i64,
    limit: Option<usize>,
}

impl BuildQuery for PageQuery<'_> {
    fn build<'a, DB>(&self, qb: &mut QueryBuilder<'a, DB>)
    where
        DB: Dialect,
        i64: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
        bool: Encode<'a, DB> + Type<DB>,
    {
        let (ctx, filter) = (self.ctx, self.filter);
        // Only the keys: full rows and their interfaces come from the
        // per-process cache when their sequences still match (see
        // `RowCache`).
        qb.push("SELECT id, state_seq, net_seq FROM instances");
        let mut w = Conditions::new(qb);
        let project = if !ctx.is_admin {
            Some(&ctx.project_id)
        } else if let Some(p) = &filter.project_id {
            Some(p)
        } else if !filter.all_projects {
            Some(&ctx.project_id)
        } else {
            None
        };
        if let Some(p) = project {
            w.and().push("project_id = ").push_bind(p.clone());
        }
        // nova's `deleted` filter: soft-deleted instances are listed with
        // the deleted ones, never with the live ones.
        if ctx.is_admin && filter.deleted == Some(true) {
            w.and().push("(deleted = TRUE OR vm_state = 'soft-delete')");
        }
        if self.live_only {
            w.and()
                .push("(deleted = FALSE AND vm_state <> 'soft-delete')");
        }
        // Both bounds are inclusive of the second a client sees: times are
        // shown in whole seconds, so a server shown as updated at the bound
        // is in `changes-since` and in `changes-before` alike.
        if let Some(t) = filter.changes_since {
            w.and()
                .push("COALESCE(updated_at, created_at) >= ")
                .push_bind(shown_second_start(t));
        }
        if let Some(t) = filter.changes_before {
            w.and()
                .push("COALESCE(updated_at, created_at) < ")
                .push_bind(shown_second_start(t).saturating_add(1_000_000));
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
                w.and().push(col).push(" = ").push_bind(v.clone());
            }
        }
        if let Some(i) = filter.launch_index {
            w.and().push("launch_index = ").push_bind(i);
        }
        if let Some(l) = filter.locked {
            w.and().push("locked = ").push_bind(l);
        }
        if let Some(c) = filter.config_drive {
            w.and().push("config_drive = ").push_bind(c);
        }
        if let Some(v) = &filter.uuids {
            push_in(w.and(), "uuid", v.iter().cloned());
        }
        if let Some(v) = &filter.ids {
            push_in(w.and(), "id", v.iter().copied());
        }
        for tag in &filter.tags {
            push_has_tag(w.and(), std::slice::from_ref(tag));
        }
        if !filter.tags_any.is_empty() {
            push_has_tag(w.and(), &filter.tags_any);
        }
        if !filter.not_tags.is_empty() {
            let qb = w.and().push("NOT (");
            for (i, tag) in filter.not_tags.iter().enumerate() {
                if i > 0 {
                    qb.push(" AND ");
                }
                push_has_tag(qb, std::slice::from_ref(tag));
            }
            qb.push(")");
        }
        if !filter.not_tags_any.is_empty() {
            push_has_tag(w.and().push("NOT "), &filter.not_tags_any);
        }
        if state_filtered(filter) {
            // A row whose next step is due is in a later state than it
            // stores (states advance when read): it is read too, and every
            // state filter is checked again once it advanced.
            let qb = w.and().push("((");
            let mut and = Conditions::within(qb);
            if let Some(v) = &filter.vm_states {
                push_in(
                    and.and(),
                    "vm_state",
                    v.iter().map(|s| s.as_str().to_string()),
                );
            }
            if let Some(v) = &filter.statuses {
                push_statuses(and.and(), v);
            }
            if let Some(v) = &filter.task_states {
                push_in(
                    and.and(),
                    "task_state",
                    v.iter().map(|s| s.as_str().to_string()),
                );
            }
            if let Some(v) = &filter.power_states {
                push_in(and.and(), "power_state", v.iter().map(|s| s.code()));
            }
            qb.push(") OR (step_due_at IS NOT NULL AND step_due_at <= ")
                .push_bind(self.now)
                .push("))");
        }
        if let Some(after) = self.after {
            push_after(w.and(), self.sort, after);
        }
        qb.push(" ORDER BY ");
        let mut order = qb.separated(", ");
        for (k, d) in self.sort {
            let dir = if *d == SortDir::Asc { "ASC" } else { "DESC" };
            order.push(format!("{} {dir}", k.expr(DB::ENGINE)));
        }
        if let Some(l) = self.limit {
            // SQL's LIMIT is a BIGINT; no table holds i64::MAX rows anyway.
            qb.push(" LIMIT ")
                .push_bind(i64::try_from(l).unwrap_or(i64::MAX));
        }
    }
}

/// The conditions of a `WHERE` clause (or of a parenthesised group, with
/// [`Conditions::within`]), `AND` between them.
struct Conditions<'b, 'a, DB: Database> {
    qb: &'b mut QueryBuilder<'a, DB>,
    /// What comes before the next condition.
    sep: &'static str,
}

impl<'b, 'a, DB: Database> Conditions<'b, 'a, DB> {
    /// A `WHERE` clause: pushes nothing when no condition comes.
    fn new(qb: &'b mut QueryBuilder<'a, DB>) -> Self {
        Conditions { qb, sep: " WHERE " }
    }

    /// Conditions right after an opening parenthesis.
    fn within(qb: &'b mut QueryBuilder<'a, DB>) -> Self {
        Conditions { qb, sep: "" }
    }

    /// Starts the next condition.
    fn and(&mut self) -> &mut QueryBuilder<'a, DB> {
        self.qb.push(self.sep);
        self.sep = " AND ";
        self.qb
    }
}

/// Whether the row's tags (a JSON array of strings, as serde_json wrote
/// it) hold any of `tags`. PostgreSQL compares the elements as written,
/// JSON-encoded: decoding them would fail on a `\u0000` escape, and a tag
/// holding NUL cannot even be bound as text there.
fn push_has_tag<'a, DB>(qb: &mut QueryBuilder<'a, DB>, tags: &[String])
where
    DB: Dialect,
    String: Encode<'a, DB> + Type<DB>,
{
    match DB::ENGINE {
        Engine::Sqlite => {
            qb.push("EXISTS (SELECT 1 FROM json_each(tags) WHERE ");
            push_in(qb, "json_each.value", tags.iter().cloned());
        }
        Engine::Postgres => {
            qb.push(
                "EXISTS (SELECT 1 FROM json_array_elements(CAST(tags AS json)) AS t(tag) WHERE ",
            );
            let encoded = tags
                .iter()
                .map(|t| serde_json::Value::from(t.as_str()).to_string());
            push_in(qb, "CAST(t.tag AS text)", encoded);
        }
    }
    qb.push(")");
}

/// Whether the row's API status is one of `statuses`, exactly as
/// [`InstanceFilter::statuses`] compares it: `DELETED` for a deleted row,
/// else [`api_status`] of its (vm_state, task_state), which is spelled out
/// here as the pairs that give a wanted status.
fn push_statuses<'a, DB>(qb: &mut QueryBuilder<'a, DB>, statuses: &[String])
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    let wanted = |s: &str| statuses.iter().any(|w| w == s);
    let tasks = || std::iter::once(None).chain(TaskState::ALL.iter().copied().map(Some));
    let pairs: Vec<(VmState, Vec<Option<TaskState>>)> = VmState::ALL
        .iter()
        .map(|&vm| (vm, tasks().filter(|&t| wanted(api_status(vm, t))).collect()))
        .filter(|(_, ts): &(VmState, Vec<_>)| !ts.is_empty())
        .collect();
    qb.push("(");
    let mut sep = "";
    if wanted("DELETED") {
        qb.push("deleted = TRUE");
        sep = " OR ";
    }
    if !pairs.is_empty() {
        qb.push(sep).push("(deleted = FALSE AND (");
        for (i, (vm, ts)) in pairs.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("(vm_state = ").push_bind(vm.as_str().to_string());
            if ts.len() < tasks().count() {
                // With this vm_state: when a row without a task state is
                // wanted (unknown ones read as none), any task state but
                // those not wanted; else the wanted ones.
                if ts.contains(&None) {
                    let others = TaskState::ALL.iter().filter(|t| !ts.contains(&Some(**t)));
                    qb.push(" AND (task_state IS NULL OR NOT ");
                    push_in(qb, "task_state", others.map(|t| t.as_str().to_string()));
                    qb.push(")");
                } else {
                    qb.push(" AND ");
                    push_in(
                        qb,
                        "task_state",
                        ts.iter().flatten().map(|t| t.as_str().to_string()),
                    );
                }
            }
            qb.push(")");
        }
        qb.push("))");
        sep = " OR ";
    }
    if sep.is_empty() {
        qb.push("1 = 0");
    }
    qb.push(")");
}

/// Keyset paging: the rows strictly after `row` in `sort` order.
fn push_after<'a, DB>(qb: &mut QueryBuilder<'a, DB>, sort: &[(SortKey, SortDir)], row: &InstanceRow)
where
    DB: Dialect,
    i64: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
{
    qb.push("(");
    for i in 0..sort.len() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push("(");
        for (k, _) in &sort[..i] {
            qb.push(k.expr(DB::ENGINE)).push(" = ");
            k.push_value(qb, row);
            qb.push(" AND ");
        }
        let (k, d) = sort[i];
        let op = if d == SortDir::Asc { " > " } else { " < " };
        qb.push(k.expr(DB::ENGINE)).push(op);
        k.push_value(qb, row);
        qb.push(")");
    }
    qb.push(")");
}

impl Compute {
    /// Lists instances (see [`InstanceFilter`]). Non-admins always see only
    /// their project; admin-only filters are ignored for them. An unknown
    /// marker is [`Error::Invalid`] ("marker \[x\] not found").
    ///
    /// A limited page is full whenever enough rows match: rows that fall
    /// out after they are read (a regular expression does not match, a
    /// state changes or a delete completes as the row advances) are
    /// replaced by the rows after the last one read, in the order the page
    /// was read in.
    pub async fn list_instances(
        &self,
        ctx: &RequestContext,
        filter: &InstanceFilter,
    ) -> Result<Vec<Instance>> {
        let sort = sort_order(filter);
        let marker = match &filter.marker {
            Some(m) => {
                let row: Option<InstanceRow> = self
                    .store
                    .fetch_optional(
                        &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE uuid = $1"),
                        args![m],
                    )
                    .await?;
                let row = row
                    .filter(|r| ctx.can_access_project(&r.project_id))
                    .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
                Some(row)
            }
            None => None,
        };
        let patterns = Patterns::compile(filter)?;
        let live_only = live_only(ctx, filter);
        let state_filtered = state_filtered(filter);
        let now = now_micros();
        let mut after = marker;
        let mut out = Vec::new();
        loop {
            let wanted = match filter.limit {
                Some(l) if out.len() >= l => return Ok(out),
                Some(l) => Some(l - out.len()),
                None => None,
            };
            let limit = if patterns.any() {
                wanted.map(|w| w.max(REGEX_BATCH))
            } else {
                wanted
            };
            let query = PageQuery {
                ctx,
                filter,
                live_only,
                sort: &sort,
                after: after.as_ref(),
                now,
                limit,
            };
            let keys: Vec<RowKey> = self.store.fetch_all_built(&query).await?;
            let rows = self.cache.rows(self, &keys).await?;
            let mut batch = Vec::with_capacity(rows.len());
            // Rows advanced here: their interfaces are read again, after.
            let mut advanced = Vec::new();
            for cached in &rows {
                let row = &cached.row;
                if !patterns.match_row(row) {
                    continue;
                }
                let due = row.step_due_at.is_some_and(|d| d <= now);
                let instance = if due {
                    self.advance(row.clone()).await?.to_instance()
                } else {
                    cached.instance.clone()
                };
                // A delete that completes as the listing advances the row
                // is as good as done: a live-only listing never shows it.
                if live_only && (instance.deleted || instance.vm_state == VmState::SoftDeleted) {
                    continue;
                }
                if state_filtered && !filter.state_matches(&instance) {
                    continue;
                }
                if due {
                    advanced.push(batch.len());
                }
                batch.push(instance);
            }
            self.attach_network_info_at(&mut batch, &advanced).await?;
            for instance in batch {
                if patterns.on_addresses() && !patterns.match_addresses(&instance) {
                    continue;
                }
                out.push(instance);
                if filter.limit.is_some_and(|l| out.len() >= l) {
                    return Ok(out);
                }
            }
            // The read was cut by LIMIT and rows fell out: go on after the
            // last row read, as it was read (advancing may have moved it).
            match (limit, rows.last()) {
                (Some(l), Some(last)) if keys.len() >= l => after = Some(last.row.clone()),
                _ => return Ok(out),
            }
        }
    }
}
