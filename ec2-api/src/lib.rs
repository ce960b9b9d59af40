//! nova's EC2-compatible Query API: the request parser, the XML answers, the
//! authentication filters and the actions over the shared `compute` domain,
//! registered as paste factories under nova's dotted names.
#![forbid(unsafe_code)]

pub mod actions;
pub mod auth;
pub mod config;
pub mod error;
pub mod ids;
pub mod paste;
pub mod pipeline;
pub mod query;
pub mod state;
pub mod xml;

pub use config::{AuthMode, Ec2Options};

/// nova's request-line limit for the EC2 API (longer lines are answered
/// 414): EC2 requests carry every parameter in the query string.
pub const MAX_URL_LEN: usize = 16384;
pub use error::Ec2Error;
pub use paste::{register_factories, worker_resources};
pub use query::{parse_query, Ec2Query, Params};
pub use state::Ec2State;
