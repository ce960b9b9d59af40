//! The metadata service driven in-process: every path family, instance
//! identification, dynamic vendordata against real HTTP targets, IMDSv2
//! session tokens, the password and the cache.

mod support;

mod cache;
mod compute_backed;
mod ec2_tree;
mod identification;
mod imds;
mod openstack_tree;
mod password;
mod paste;
mod vendordata;
