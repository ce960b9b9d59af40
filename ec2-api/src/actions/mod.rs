//! The EC2 actions: the table of names, the dispatcher, and one module per
//! resource family. Each action reads its parameters, calls `compute`, and
//! writes the answer shape botocore's EC2 model describes.

mod addresses;
mod common;
mod flavors;
mod image_attributes;
mod images;
mod instances;
mod keypairs;
mod regions;
mod security_groups;
mod tags;

use crate::auth::Ec2Context;
use crate::error::Ec2Error;
use crate::pipeline::Ec2Call;
use crate::query::Params;
use crate::state::Ec2State;
use crate::xml::{self, Xml};

/// Everything an action gets.
#[derive(Debug)]
pub struct ActionRequest<'a> {
    /// The validated action and version.
    pub call: &'a Ec2Call,
    /// The request parameters.
    pub params: &'a Params,
    /// The caller.
    pub ctx: &'a Ec2Context,
    /// The request id (also the answer's `requestId`).
    pub request_id: &'a str,
    /// The `Host` header, for advertised endpoints.
    pub host: &'a str,
    /// The urlmap prefix the request came through.
    pub script_name: &'a str,
}

impl ActionRequest<'_> {
    /// Renders a success answer for this call.
    pub fn respond(&self, body: impl FnOnce(&mut Xml)) -> String {
        xml::response(self.call.action, &self.call.version, self.request_id, body)
    }

    /// A `<return>true</return>` answer.
    pub fn respond_true(&self) -> String {
        self.respond(|x| {
            x.boolean("return", true);
        })
    }
}

/// Every action this API implements.
pub const ACTIONS: &[&str] = &[
    "AllocateAddress",
    "AssociateAddress",
    "AuthorizeSecurityGroupEgress",
    "AuthorizeSecurityGroupIngress",
    "CreateImage",
    "CreateKeyPair",
    "CreateSecurityGroup",
    "CreateTags",
    "DeleteKeyPair",
    "DeleteSecurityGroup",
    "DeleteTags",
    "DeregisterImage",
    "DescribeAccountAttributes",
    "DescribeAddresses",
    "DescribeAvailabilityZones",
    "DescribeImageAttribute",
    "DescribeImages",
    "DescribeInstanceAttribute",
    "DescribeInstanceStatus",
    "DescribeInstances",
    "DescribeKeyPairs",
    "DescribeRegions",
    "DescribeSecurityGroups",
    "DescribeTags",
    "DisassociateAddress",
    "GetConsoleOutput",
    "GetPasswordData",
    "ImportKeyPair",
    "ModifyImageAttribute",
    "ModifyInstanceAttribute",
    "RebootInstances",
    "ReleaseAddress",
    "ResetImageAttribute",
    "ResetInstanceAttribute",
    "RevokeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "TerminateInstances",
];

/// The canonical name of `action` if we implement it.
pub fn lookup(action: &str) -> Option<&'static str> {
    ACTIONS.iter().copied().find(|a| *a == action)
}

/// Runs the action named by the call.
pub async fn dispatch(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    if req.params.bool("DryRun")?.unwrap_or(false) {
        return Err(Ec2Error::DryRunOperation);
    }
    match req.call.action {
        "DescribeRegions" => regions::describe_regions(state, req),
        "DescribeAccountAttributes" => regions::describe_account_attributes(state, req),
        "DescribeAvailabilityZones" => regions::describe_availability_zones(state, req).await,
        "DescribeSecurityGroups" => security_groups::describe_security_groups(state, req).await,
        "CreateSecurityGroup" => security_groups::create_security_group(state, req).await,
        "DeleteSecurityGroup" => security_groups::delete_security_group(state, req).await,
        "AuthorizeSecurityGroupIngress" => {
            security_groups::change_rules(state, req, "ingress", true).await
        }
        "AuthorizeSecurityGroupEgress" => {
            security_groups::change_rules(state, req, "egress", true).await
        }
        "RevokeSecurityGroupIngress" => {
            security_groups::change_rules(state, req, "ingress", false).await
        }
        "RevokeSecurityGroupEgress" => {
            security_groups::change_rules(state, req, "egress", false).await
        }
        "AllocateAddress" => addresses::allocate_address(state, req).await,
        "ReleaseAddress" => addresses::release_address(state, req).await,
        "AssociateAddress" => addresses::associate_address(state, req).await,
        "DisassociateAddress" => addresses::disassociate_address(state, req).await,
        "DescribeAddresses" => addresses::describe_addresses(state, req).await,
        "DescribeInstances" => instances::describe_instances(state, req).await,
        "DescribeInstanceStatus" => instances::describe_instance_status(state, req).await,
        "RunInstances" => instances::run_instances(state, req).await,
        "StartInstances" => instances::start_instances(state, req).await,
        "StopInstances" => instances::stop_instances(state, req).await,
        "RebootInstances" => instances::reboot_instances(state, req).await,
        "TerminateInstances" => instances::terminate_instances(state, req).await,
        "DescribeInstanceAttribute" => instances::describe_instance_attribute(state, req).await,
        "ModifyInstanceAttribute" => instances::modify_instance_attribute(state, req).await,
        "GetConsoleOutput" => instances::get_console_output(state, req).await,
        "GetPasswordData" => instances::get_password_data(state, req).await,
        "ResetInstanceAttribute" => instances::reset_instance_attribute(state, req).await,
        "DescribeImages" => images::describe_images(state, req).await,
        "CreateImage" => images::create_image(state, req).await,
        "DeregisterImage" => images::deregister_image(state, req).await,
        "DescribeImageAttribute" => image_attributes::describe_image_attribute(state, req).await,
        "ModifyImageAttribute" => image_attributes::modify_image_attribute(state, req).await,
        "ResetImageAttribute" => image_attributes::reset_image_attribute(state, req).await,
        "DescribeKeyPairs" => keypairs::describe_key_pairs(state, req).await,
        "CreateKeyPair" => keypairs::create_key_pair(state, req).await,
        "ImportKeyPair" => keypairs::import_key_pair(state, req).await,
        "DeleteKeyPair" => keypairs::delete_key_pair(state, req).await,
        "CreateTags" => tags::create_tags(state, req).await,
        "DeleteTags" => tags::delete_tags(state, req).await,
        "DescribeTags" => tags::describe_tags(state, req).await,
        other => Err(Ec2Error::InvalidAction(other.to_string())),
    }
}
