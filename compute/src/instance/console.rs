//! The simulated console log (`os-getConsoleOutput`).

use crate::states::VmState;
use crate::{Compute, Error, RequestContext, Result};

impl Compute {
    /// The simulated console log: the last `length` lines (all if `None`).
    /// Building, errored or deleted instances have none
    /// ([`Error::InvalidState`]).
    pub async fn console_output(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        length: Option<usize>,
    ) -> Result<String> {
        let row = self.load(ctx, uuid, false).await?;
        let vm = row.vm();
        if matches!(vm, VmState::Building | VmState::Error) {
            return Err(Error::InvalidState {
                action: "get_console_output".into(),
                uuid: row.uuid.clone(),
                attr: "vm_state",
                state: vm.as_str().into(),
            });
        }
        let ip = self
            .with_network(row.to_instance())
            .await?
            .fixed_ipv4()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let lines = [
            "[    0.000000] Linux version 5.15.0-71-generic (buildd@lcy02-amd64-044) #78-Ubuntu SMP".to_string(),
            "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=LABEL=cirros-rootfs ro console=tty1 console=ttyS0".into(),
            "[    1.204518] virtio_net virtio0 eth0: renamed from eth0".into(),
            format!("Starting network: udhcpc: lease of {ip} obtained, lease time 86400"),
            "checking http://169.254.169.254/2009-04-04/instance-id".to_string(),
            format!("successful after 1/20 tries: up 2.41. iid={}", crate::ec2::ec2_instance_id(row.id)),
            "=== system information ===".to_string(),
            "Platform: OpenStack Foundation OpenStack Nova".to_string(),
            "=== datasource: ec2 net ===".to_string(),
            format!("instance-id: {}", crate::ec2::ec2_instance_id(row.id)),
            format!("name: {}", row.display_name),
            format!("local-ipv4: {ip}"),
            "=== cirros: current=0.6.2 uptime=3.07 ===".to_string(),
            String::new(),
            "login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root.".to_string(),
            format!("{} login: ", row.hostname),
        ];
        let skip = length.map(|l| lines.len().saturating_sub(l)).unwrap_or(0);
        Ok(lines[skip..].join("\n"))
    }
}
