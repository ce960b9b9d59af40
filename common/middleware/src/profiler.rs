//! `nova.profiler:WsgiMiddleware` (osprofiler): accepted so that nova's
//! stock pipelines load, but a pass-through. osprofiler traces Python call
//! stacks into a collector; nothing here feeds one. The parent says so
//! once per start, among the warnings of the load ([`load_warnings`],
//! logged once logging runs); the factory, which every worker runs for
//! every pipeline naming the filter, is silent (nova's own file names it
//! twice, so two workers used to print the same warning four times).

use crate::filter_fn;
use nova_paste::{AppSpec, FactoryContext, Filter};

/// What an operator is told about a pipeline with osprofiler in it.
pub const WARNING: &str =
    "osprofiler is not supported here: this filter passes requests through unchanged";

/// The warnings about the osprofiler filters of `app`: one per distinct
/// section, naming it.
pub fn load_warnings(app: &AppSpec) -> Vec<String> {
    app.filter_nodes()
        .into_iter()
        .filter(|node| crate::PROFILER.contains(&node.factory.as_str()))
        .map(|node| format!("[{}] {}: {WARNING}", node.section, node.factory))
        .collect()
}

/// The paste factory: the identity filter.
pub fn factory(_ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    Ok(filter_fn(|inner| inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{echo, make_filter, send, text};
    use nova_paste::http::Body;

    #[tokio::test]
    async fn passes_requests_through_unchanged() {
        let service = make_filter(factory, &[("enabled", "true")], &[]).unwrap()(echo());
        let req = http::Request::builder()
            .uri("/a?b=c")
            .body(Body::from("x"))
            .unwrap();
        let resp = send(&service, req).await;
        assert_eq!(resp.headers()["x-seen-uri"], "/a?b=c");
        assert_eq!(text(resp).await, "x");
    }
}
