//! The EC2 API in process: the whole pipeline over a real in-memory compute
//! store, driven with requests shaped as boto3/awscli send them.

mod actions;
mod auth;
mod classic;
mod fixture;
mod keystone;
mod paste;
mod security_groups;
