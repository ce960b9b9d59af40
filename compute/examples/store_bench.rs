//! Store benchmark: creates 10,000 instances (10 projects of 1,000) and
//! times list-with-filters and get-by-id, printing p50/p99 latencies per
//! operation. Runs on SQLite (a temporary file) and, when
//! `NOVA_TEST_POSTGRES_URL` is set, on PostgreSQL (a fresh schema).
//!
//! Run: `cargo run --release -p compute --example store_bench [instances]`.
//! Target: listing the 1,000 instances of one project on SQLite under 5 ms.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use compute::{
    Compute, ComputeConfig, CreateInstance, InstanceFilter, RequestContext, SortDir, SortKey,
    Store, StoreOptions, VmState, CIRROS_IMAGE_UUID,
};

const PROJECTS: usize = 10;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

async fn time_op<F, Fut>(
    engine: &str,
    name: &str,
    iterations: usize,
    mut op: F,
) -> anyhow::Result<()>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    // Warm the caches and the statement cache first.
    for i in 0..3 {
        op(i).await?;
    }
    let mut samples = Vec::with_capacity(iterations);
    let mut rows = 0;
    for i in 0..iterations {
        let t = Instant::now();
        rows = op(i).await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "{engine:<10} {name:<44} {iterations:>6} {rows:>6} {:>9} {:>9} {:>9}",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().expect("samples"))
    );
    Ok(())
}

async fn run(engine: &str, url: &str, per_project: usize) -> anyhow::Result<()> {
    let store = Store::connect(
        url,
        StoreOptions {
            max_connections: 4,
            ..StoreOptions::default()
        },
    )
    .await?;
    store.migrate().await?;
    let config = ComputeConfig {
        fixed_ip_range: "10.0.0.0/16".parse()?,
        transition_delay: Duration::ZERO,
        ..ComputeConfig::default()
    };
    let c = Compute::new(store, config);
    let admin = RequestContext::admin("admin", "admin");
    let unlimited: BTreeMap<String, i64> = ["instances", "cores", "ram"]
        .iter()
        .map(|r| (r.to_string(), -1))
        .collect();
    let t = Instant::now();
    let mut uuids = Vec::new();
    for p in 0..PROJECTS {
        let project = format!("project-{p}");
        c.update_quotas(&admin, &project, &unlimited, true).await?;
        let ctx = RequestContext::new(format!("user-{p}"), project);
        let mut left = per_project;
        while left > 0 {
            let n = left.min(100);
            let req = CreateInstance {
                name: format!("vm-p{p}"),
                flavor_id: "1".into(),
                image_ref: CIRROS_IMAGE_UUID.into(),
                min_count: n as u32,
                max_count: n as u32,
                ..Default::default()
            };
            let created = c.create_instances(&ctx, req).await?;
            uuids.extend(created.instances.into_iter().map(|i| (p, i.uuid, i.id)));
            left -= n;
        }
    }
    let total = uuids.len();
    println!(
        "{engine:<10} created {total} instances in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    // Stop a tenth of project 0 so state filters select something.
    let ctx0 = RequestContext::new("user-0", "project-0");
    for (_, u, _) in uuids.iter().filter(|(p, _, _)| *p == 0).step_by(10) {
        c.stop_instance(&ctx0, u).await?;
    }
    println!(
        "{engine:<10} {:<44} {:>6} {:>6} {:>9} {:>9} {:>9}",
        "operation", "iters", "rows", "p50 ms", "p99 ms", "max ms"
    );

    let cc = c.clone();
    time_op(
        engine,
        "list one project (all its rows, default sort)",
        200,
        |_| {
            let (c, ctx) = (cc.clone(), ctx0.clone());
            async move {
                Ok(c.list_instances(&ctx, &InstanceFilter::default())
                    .await?
                    .len())
            }
        },
    )
    .await?;
    let cc = c.clone();
    time_op(engine, "list project vm_state=stopped", 200, |_| {
        let (c, ctx) = (cc.clone(), ctx0.clone());
        async move {
            let f = InstanceFilter {
                vm_states: Some(vec![VmState::Stopped]),
                ..Default::default()
            };
            Ok(c.list_instances(&ctx, &f).await?.len())
        }
    })
    .await?;
    let cc = c.clone();
    time_op(
        engine,
        "list project sort=name asc limit=100 page 2",
        200,
        |_| {
            let (c, ctx) = (cc.clone(), ctx0.clone());
            async move {
                let f = InstanceFilter {
                    sort: vec![(SortKey::DisplayName, SortDir::Asc)],
                    limit: Some(100),
                    ..Default::default()
                };
                let first = c.list_instances(&ctx, &f).await?;
                let marker = first.last().map(|i| i.uuid.clone());
                Ok(c.list_instances(&ctx, &InstanceFilter { marker, ..f })
                    .await?
                    .len())
            }
        },
    )
    .await?;
    let cc = c.clone();
    time_op(engine, "list project name regex + limit 50", 200, |_| {
        let (c, ctx) = (cc.clone(), ctx0.clone());
        async move {
            let f = InstanceFilter {
                name: Some("^vm-p0-9".into()),
                limit: Some(50),
                ..Default::default()
            };
            Ok(c.list_instances(&ctx, &f).await?.len())
        }
    })
    .await?;
    let cc = c.clone();
    let adm = admin.clone();
    time_op(engine, "admin list all projects limit 1000", 50, |_| {
        let (c, ctx) = (cc.clone(), adm.clone());
        async move {
            let f = InstanceFilter {
                all_projects: true,
                limit: Some(1000),
                ..Default::default()
            };
            Ok(c.list_instances(&ctx, &f).await?.len())
        }
    })
    .await?;
    let cc = c.clone();
    let ids = uuids.clone();
    time_op(engine, "get by uuid", 2000, |i| {
        let c = cc.clone();
        let (p, u, _) = ids[(i * 7919) % ids.len()].clone();
        async move {
            let ctx = RequestContext::new(format!("user-{p}"), format!("project-{p}"));
            c.get_instance(&ctx, &u).await?;
            Ok(1)
        }
    })
    .await?;
    let cc = c.clone();
    let ids = uuids.clone();
    time_op(engine, "get by EC2 id (i-%08x)", 2000, |i| {
        let c = cc.clone();
        let (p, _, id) = ids[(i * 7919) % ids.len()].clone();
        async move {
            let ctx = RequestContext::new(format!("user-{p}"), format!("project-{p}"));
            c.get_instance_by_ec2_id(&ctx, &compute::ec2_instance_id(id))
                .await?;
            Ok(1)
        }
    })
    .await?;
    c.store().close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let per_project = total.div_ceil(PROJECTS);
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite:///{}", dir.path().join("bench.sqlite").display());
    run("sqlite", &sqlite, per_project).await?;
    match std::env::var("NOVA_TEST_POSTGRES_URL") {
        Ok(base) => {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let pg = base
                .replacen("postgresql+psycopg2://", "postgres://", 1)
                .replacen("postgresql://", "postgres://", 1);
            let pool = sqlx::PgPool::connect(&pg).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&pool)
                .await?;
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            let result = run("postgresql", &url, per_project).await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await?;
            result?;
        }
        Err(_) => println!("postgresql skipped: NOVA_TEST_POSTGRES_URL is not set"),
    }
    Ok(())
}
