//! DescribeRegions, DescribeAccountAttributes and
//! DescribeAvailabilityZones: what the endpoint says about itself.

use super::ActionRequest;
use crate::error::Ec2Error;
use crate::state::Ec2State;

/// The endpoint advertised for a region host: `ec2_scheme://host:ec2_port ec2_path`
/// for a configured host, else the host and path this request came in by.
fn endpoint(state: &Ec2State, req: &ActionRequest<'_>, host: Option<&str>) -> String {
    let o = &state.options;
    match host.or(o.ec2_host.as_deref()) {
        Some(h) => format!("{}://{}:{}{}", o.ec2_scheme, h, o.ec2_port, o.ec2_path),
        None => {
            let path = if req.script_name.is_empty() {
                "/"
            } else {
                req.script_name
            };
            format!("{}://{}{}", o.ec2_scheme, req.host, path)
        }
    }
}

/// DescribeRegions (`RegionName.N` narrows the list).
pub fn describe_regions(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let o = &state.options;
    let mut regions: Vec<(String, String)> = if o.region_list.is_empty() {
        vec![(o.region_name.clone(), endpoint(state, req, None))]
    } else {
        o.region_list
            .iter()
            .map(|(name, host)| (name.clone(), endpoint(state, req, Some(host))))
            .collect()
    };
    let wanted = req.params.list("RegionName");
    if !wanted.is_empty() {
        if let Some(unknown) = wanted
            .iter()
            .find(|w| !regions.iter().any(|(n, _)| n == *w))
        {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid region: {unknown}"
            )));
        }
        regions.retain(|(n, _)| wanted.contains(n));
    }
    Ok(req.respond(|x| {
        x.set("regionInfo", &regions, |x, (name, ep)| {
            x.text("regionName", name)
                .text("regionEndpoint", ep)
                .text("optInStatus", "opt-in-not-required");
        });
    }))
}

/// DescribeAccountAttributes: the EC2-Classic platform, no default VPC, and
/// nova's default quota of instances (the limit itself lives in compute's quotas).
pub fn describe_account_attributes(
    _state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let all: Vec<(&str, Vec<String>)> = vec![
        ("supported-platforms", vec!["EC2".into()]),
        ("default-vpc", vec!["none".into()]),
        ("vpc-max-security-groups-per-interface", vec!["0".into()]),
        ("max-elastic-ips", vec!["0".into()]),
        ("vpc-max-elastic-ips", vec!["0".into()]),
    ];
    let wanted = req.params.list("AttributeName");
    let chosen: Vec<_> = all
        .iter()
        .filter(|(n, _)| wanted.is_empty() || wanted.iter().any(|w| w == n))
        .collect();
    Ok(req.respond(|x| {
        x.set("accountAttributeSet", chosen, |x, (name, values)| {
            x.text("attributeName", name);
            x.set("attributeValueSet", values, |x, v| {
                x.text("attributeValue", v);
            });
        });
    }))
}

/// DescribeAvailabilityZones (`ZoneName.N` narrows the list).
pub async fn describe_availability_zones(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ctx = super::common::compute_ctx(req);
    let zones = state
        .compute
        .list_availability_zones(&ctx, false)
        .await
        .map_err(|e| super::common::map_err(e, None))?;
    let wanted = req.params.list("ZoneName");
    let zones: Vec<_> = zones
        .into_iter()
        .filter(|z| wanted.is_empty() || wanted.contains(&z.name))
        .collect();
    let region = state.options.region_name.clone();
    Ok(req.respond(|x| {
        x.set("availabilityZoneInfo", &zones, |x, z| {
            x.text("zoneName", &z.name);
            x.text(
                "zoneState",
                if z.available {
                    "available"
                } else {
                    "unavailable"
                },
            );
            x.text("regionName", &region);
            x.text("zoneType", "availability-zone");
            x.text("optInStatus", "opt-in-not-required");
            x.empty("messageSet");
        });
    }))
}
