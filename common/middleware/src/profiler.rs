//! `nova.profiler:WsgiMiddleware` (osprofiler): accepted so that nova's
//! stock pipelines load, but a pass-through. osprofiler traces Python call
//! stacks into a collector; nothing here feeds one. The factory logs one
//! warning per instantiation so that an operator sees the filter does
//! nothing.

use crate::filter_fn;
use nova_paste::{FactoryContext, Filter};

/// The paste factory: the identity filter, with a warning.
pub fn factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    tracing::warn!(
        section = ctx.section,
        factory = ctx.factory,
        "osprofiler is not supported here: this filter passes requests through unchanged"
    );
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
