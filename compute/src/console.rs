//! Remote consoles (nova's `get_vnc_console`, `get_spice_console`,
//! `get_serial_console`, `get_mks_console`): the checks of nova's API and
//! compute manager, then a console auth token ([`crate::console_auth`])
//! for the simulated hypervisor's console of the instance, handed back as
//! the proxy URL of the console kind with the token in it.
//!
//! The options are nova's: `[vnc]`, `[spice]`, `[serial_console]`,
//! `[mks]` and `[consoleauth] token_ttl`. RDP went with the Hyper-V
//! driver (nova 29.0.0): it has no options and every request for it is
//! refused. The groups are listed in [`crate::options::OPTION_GROUPS`].

use nova_conf::{value, NovaConf};

use crate::console_auth::NewConsoleAuth;
use crate::states::{TaskState, VmState};
use crate::{Compute, Error, RequestContext, Result};

nova_conf::option_group! {
    /// `[vnc]`: the noVNC consoles.
    pub struct VncGroup in "vnc" {
        /// Whether guests have a VNC console.
        pub enabled: bool = "true" => value::boolean,
            deprecated("DEFAULT", "vnc_enabled");
        /// The address the proxy reaches the guests' VNC servers at.
        pub server_proxyclient_address: String = "127.0.0.1" => value::string;
        /// The public URL of the noVNC proxy (the token is added to it).
        pub novncproxy_base_url: String = "http://127.0.0.1:6080/vnc_auto.html" => value::string;
    }
}

nova_conf::option_group! {
    /// `[spice]`: the SPICE consoles.
    pub struct SpiceGroup in "spice" {
        /// Whether guests have a SPICE console.
        pub enabled: bool = "false" => value::boolean;
        /// The address the proxy reaches the guests' SPICE servers at.
        pub server_proxyclient_address: String = "127.0.0.1" => value::string;
        /// The public URL of the SPICE HTML5 proxy (`spice-html5`).
        pub html5proxy_base_url: String = "http://127.0.0.1:6082/spice_auto.html" => value::string;
        /// The public URL of the native SPICE proxy (`spice-direct`, 2.99).
        pub spice_direct_proxy_base_url: String = "http://127.0.0.1:13002/nova" => value::string;
    }
}

nova_conf::option_group! {
    /// `[serial_console]`: the serial consoles.
    pub struct SerialConsoleGroup in "serial_console" {
        /// Whether guests have a serial console.
        pub enabled: bool = "false" => value::boolean;
        /// The public URL of the serial console proxy.
        pub base_url: String = "ws://127.0.0.1:6083/" => value::string;
        /// The address the proxy reaches the guests' serial ports at.
        pub proxyclient_address: String = "127.0.0.1" => value::string;
    }
}

nova_conf::option_group! {
    /// `[mks]`: VMware's WebMKS consoles.
    pub struct MksGroup in "mks" {
        /// Whether guests have a WebMKS console.
        pub enabled: bool = "false" => value::boolean;
        /// The public URL of the WebMKS proxy.
        pub mksproxy_base_url: String = "http://127.0.0.1:6090/" => value::string;
    }
}

nova_conf::option_group! {
    /// `[consoleauth]`: the console auth tokens.
    pub struct ConsoleAuthGroup in "consoleauth" {
        /// Seconds a console auth token is valid.
        pub token_ttl: u64 = "600" => value::int(Some(0), None),
            deprecated("DEFAULT", "console_token_ttl");
    }
}

/// One console kind's settings: whether it is on, where its proxy is
/// (the URL the token is added to) and where the proxy reaches guests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleKind {
    /// The kind's `enabled`.
    pub enabled: bool,
    /// The proxy's public base URL.
    pub base_url: String,
    /// The address the proxy connects to (the hypervisor host's).
    pub proxyclient_address: String,
}

impl ConsoleKind {
    fn new(enabled: bool, base_url: &str) -> Self {
        ConsoleKind {
            enabled,
            base_url: base_url.to_owned(),
            proxyclient_address: "127.0.0.1".to_owned(),
        }
    }
}

/// The remote consoles' settings, nova's defaults by [`Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// `[vnc]` (on by default).
    pub vnc: ConsoleKind,
    /// `[spice]` with `html5proxy_base_url`.
    pub spice: ConsoleKind,
    /// `[spice] spice_direct_proxy_base_url`.
    pub spice_direct_base_url: String,
    /// `[serial_console]`.
    pub serial: ConsoleKind,
    /// `[mks]`.
    pub mks: ConsoleKind,
    /// `[consoleauth] token_ttl` in seconds (600).
    pub token_ttl: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            vnc: ConsoleKind::new(true, "http://127.0.0.1:6080/vnc_auto.html"),
            spice: ConsoleKind::new(false, "http://127.0.0.1:6082/spice_auto.html"),
            spice_direct_base_url: "http://127.0.0.1:13002/nova".to_owned(),
            serial: ConsoleKind::new(false, "ws://127.0.0.1:6083/"),
            mks: ConsoleKind::new(false, "http://127.0.0.1:6090/"),
            token_ttl: 600,
        }
    }
}

impl ConsoleConfig {
    /// The settings nova.conf gives (loaded with [`OPTION_GROUPS`]).
    pub fn from_conf(conf: &NovaConf) -> Self {
        let vnc = conf.group::<VncGroup>();
        let spice = conf.group::<SpiceGroup>();
        let serial = conf.group::<SerialConsoleGroup>();
        let mks = conf.group::<MksGroup>();
        let kind = |enabled: bool, url: &str, address: &str| ConsoleKind {
            enabled,
            base_url: url.to_owned(),
            proxyclient_address: address.to_owned(),
        };
        ConsoleConfig {
            vnc: kind(
                vnc.enabled,
                &vnc.novncproxy_base_url,
                &vnc.server_proxyclient_address,
            ),
            spice: kind(
                spice.enabled,
                &spice.html5proxy_base_url,
                &spice.server_proxyclient_address,
            ),
            spice_direct_base_url: spice.spice_direct_proxy_base_url.clone(),
            serial: kind(
                serial.enabled,
                &serial.base_url,
                &serial.proxyclient_address,
            ),
            mks: kind(mks.enabled, &mks.mksproxy_base_url, "127.0.0.1"),
            token_ttl: conf.group::<ConsoleAuthGroup>().token_ttl,
        }
    }
}

/// The port the simulated hypervisor's VNC and SPICE servers listen on
/// (libvirt's first autoport); the SPICE TLS port is the next one.
pub const GRAPHICS_PORT: i64 = 5900;
/// The port of the simulated serial console (the first of nova's
/// default `[serial_console] port_range`).
pub const SERIAL_PORT: i64 = 10000;

impl Compute {
    /// A remote console of instance `uuid`: `protocol` (`vnc`, `spice`,
    /// `serial`, `mks`, `rdp`) and `console_type` (`novnc`,
    /// `spice-html5`, `spice-direct`, `serial`, `webmks`, ...), checked as
    /// nova's API and compute manager check them. Returns the console's
    /// URL with a new token in it.
    ///
    /// Errors: an unknown or invisible instance is `NotFound`; one
    /// being deleted or migrated is `InvalidState`; one without a host or
    /// not active is not ready (`Conflict`, nova's `InstanceNotReady`); a
    /// kind turned off or RDP is `Invalid` ("Unavailable console type"),
    /// a type the protocol does not have `Invalid` ("Invalid console
    /// type").
    pub async fn get_remote_console(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        protocol: &str,
        console_type: &str,
    ) -> Result<String> {
        let row = self.load(ctx, uuid, false).await?;
        let action = match protocol {
            "vnc" => "get_vnc_console",
            "spice" => "get_spice_console",
            "serial" => "get_serial_console",
            "mks" => "get_mks_console",
            _ => {
                return Err(Error::invalid(format!(
                    "Unavailable console type {protocol}."
                )))
            }
        };
        if let Some(task) = row
            .task()
            .filter(|t| matches!(t, TaskState::Deleting | TaskState::Migrating))
        {
            return Err(Error::InvalidState {
                action: action.to_owned(),
                uuid: uuid.to_owned(),
                attr: "task_state",
                state: task.as_str().to_owned(),
            });
        }
        if row.host.is_none() || row.vm() != VmState::Active {
            return Err(not_ready(uuid));
        }
        let consoles = &self.config.consoles;
        let (kind, base_url) = match (protocol, console_type) {
            ("vnc", _) => (&consoles.vnc, consoles.vnc.base_url.as_str()),
            ("spice", "spice-direct") => (&consoles.spice, consoles.spice_direct_base_url.as_str()),
            ("spice", _) => (&consoles.spice, consoles.spice.base_url.as_str()),
            ("serial", _) => (&consoles.serial, consoles.serial.base_url.as_str()),
            _ => (&consoles.mks, consoles.mks.base_url.as_str()),
        };
        if !kind.enabled {
            return Err(Error::invalid(format!(
                "Unavailable console type {console_type}."
            )));
        }
        let valid = match protocol {
            "vnc" => console_type == "novnc",
            "spice" => matches!(console_type, "spice-html5" | "spice-direct"),
            // nova's compute manager takes any type for a serial console.
            "serial" => true,
            _ => console_type == "webmks",
        };
        if !valid {
            return Err(Error::invalid(format!(
                "Invalid console type {console_type}"
            )));
        }
        let (port, tls_port) = match protocol {
            "serial" => (SERIAL_PORT, None),
            "spice" => (GRAPHICS_PORT, Some(GRAPHICS_PORT + 1)),
            _ => (GRAPHICS_PORT, None),
        };
        let token = self
            .authorize_console(NewConsoleAuth {
                instance_uuid: row.uuid.clone(),
                console_type: console_type.to_owned(),
                host: kind.proxyclient_address.clone(),
                port,
                tls_port,
                internal_access_path: None,
                access_url_base: base_url.to_owned(),
            })
            .await?;
        Ok(access_url(base_url, console_type, &token))
    }
}

/// nova's `InstanceNotReady`.
fn not_ready(uuid: &str) -> Error {
    Error::Conflict(format!("Instance {uuid} is not ready"))
}

/// The URL a client opens: the base URL with the token, which noVNC
/// (from 1.1.0) takes inside its `path` query parameter, every other
/// proxy as the `token` parameter (nova's `ConsoleAuthToken.access_url`).
pub fn access_url(base_url: &str, console_type: &str, token: &str) -> String {
    if console_type != "novnc" {
        return format!("{base_url}?token={token}");
    }
    let (before_fragment, fragment) = match base_url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (base_url, None),
    };
    let (path, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    let mut pairs: Vec<String> = Vec::new();
    let mut prior_path = String::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("path", v)) => prior_path = percent_decode(v),
            _ => pairs.push(pair.to_owned()),
        }
    }
    pairs.push(format!(
        "path={}",
        form_encode(&format!("{prior_path}?token={token}"))
    ));
    let mut url = format!("{path}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

/// `application/x-www-form-urlencoded` encoding, as Python's `urlencode`.
fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_novnc_url_carries_the_token_inside_its_path_parameter() {
        assert_eq!(
            access_url("http://127.0.0.1:6080/vnc_auto.html", "novnc", "abc"),
            "http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3Dabc"
        );
        assert_eq!(
            access_url("http://h/vnc_lite.html?path=websockify", "novnc", "t"),
            "http://h/vnc_lite.html?path=websockify%3Ftoken%3Dt"
        );
    }

    #[test]
    fn other_urls_carry_the_token_as_a_query_parameter() {
        assert_eq!(
            access_url("ws://127.0.0.1:6083/", "serial", "abc"),
            "ws://127.0.0.1:6083/?token=abc"
        );
    }
}
