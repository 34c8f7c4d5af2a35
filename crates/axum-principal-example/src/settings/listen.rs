//! `BIND` and `AUTHZ_DEV`: where the service listens, and whether development mode may
//! listen there.

use std::net::{Ipv4Addr, SocketAddr};

use super::ConfigProblem;

/// `BIND`: `host:port` with an IP address, or `localhost:port`; unset: `127.0.0.1:3000`.
pub(super) fn bind(value: Option<String>) -> Result<SocketAddr, ConfigProblem> {
    let Some(value) = value else {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 3000)));
    };
    parse_bind(&value).ok_or_else(|| {
        ConfigProblem::new(
            "BIND",
            format!("{value:?} is not an address such as 127.0.0.1:3000"),
        )
    })
}

fn parse_bind(value: &str) -> Option<SocketAddr> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Some(addr);
    }
    let port = value.strip_prefix("localhost:")?.parse::<u16>().ok()?;
    Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// Development mode (no `AUTHZ_ISSUER`) trusts an issuer whose tokens are printed to the
/// console: it may listen only on a loopback address, unless `AUTHZ_DEV=1` says that the
/// development issuer is wanted anyway (`AUTHZ_DEV=0` or unset: not).
pub(super) fn check_dev_mode_bind(
    bind: SocketAddr,
    dev_mode: bool,
    authz_dev: Option<&str>,
) -> Result<(), ConfigProblem> {
    let dev_anyway = match authz_dev {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(ConfigProblem::new(
                "AUTHZ_DEV",
                format!("{other:?} is neither \"1\" nor \"0\""),
            ))
        }
    };
    if dev_mode && !dev_anyway && !is_loopback_bind(bind) {
        return Err(ConfigProblem::new(
            "AUTHZ_ISSUER",
            format!(
                "not set, and BIND={bind} is not loopback: set AUTHZ_ISSUER (and \
                 AUTHZ_AUDIENCE) for a real issuer, or AUTHZ_DEV=1 to run the development \
                 issuer anyway"
            ),
        ));
    }
    Ok(())
}

/// Whether only this machine can reach `bind` (127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`).
pub(crate) fn is_loopback_bind(bind: SocketAddr) -> bool {
    bind.ip().to_canonical().is_loopback()
}
