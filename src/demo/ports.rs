//! The fixed loopback ports of `timeweave demo --serve`: four in a row from `--port-base`
//! (TimeTrack, TrackingTime and TimeTracker simulators, then the daemon's status listener),
//! all bound before anything starts, so a taken one is a clear error naming it and the flag.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

/// The default `--port-base`: ports 7870–7873, below Linux's ephemeral range.
pub const DEFAULT_PORT_BASE: u16 = 7870;

/// What each port is for, in order from the base.
const ROLES: [&str; 4] = [
    "the TimeTrack simulator",
    "the TrackingTime simulator",
    "the TimeTracker simulator",
    "the daemon's status listener",
];

/// Why the demo's ports cannot be used; each says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("--port-base 0 is not a port: give the first of four fixed ports, e.g. --port-base {DEFAULT_PORT_BASE}")]
    Zero,
    #[error("--port-base {0} leaves no room for four ports (the last would pass 65535): choose a lower one, e.g. --port-base {DEFAULT_PORT_BASE}")]
    NoRoom(u16),
    #[error(
        "cannot listen on {addr} for {role}: {cause}. The demo uses ports {base}-{last} on \
         127.0.0.1: stop what uses port {port}, or choose other ports with `--port-base N`",
        port = addr.port(),
        last = base.saturating_add(3)
    )]
    Taken {
        addr: SocketAddr,
        role: &'static str,
        base: u16,
        /// In the message, not a cause: the hint after it is the point.
        cause: std::io::Error,
    },
}

/// The four bound listeners, held until each is handed over.
pub struct Bound {
    pub timetrack: TcpListener,
    pub trackingtime: TcpListener,
    pub timetracker: TcpListener,
    /// Held only to reserve the port: released just before the daemon binds it.
    pub status: TcpListener,
}

/// The ports `base`, `base + 1`, `base + 2` and `base + 3`, or why they cannot be used.
fn ports(base: u16) -> Result<[u16; 4], PortError> {
    match (base, base.checked_add(3)) {
        (0, _) => Err(PortError::Zero),
        (_, None) => Err(PortError::NoRoom(base)),
        _ => Ok([base, base + 1, base + 2, base + 3]),
    }
}

async fn bind_one(port: u16, role: &'static str, base: u16) -> Result<TcpListener, PortError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr)
        .await
        .map_err(|cause| PortError::Taken {
            addr,
            role,
            base,
            cause,
        })
}

/// Binds the four ports from `base` on 127.0.0.1.
pub async fn bind(base: u16) -> Result<Bound, PortError> {
    let [a, b, c, d] = ports(base)?;
    Ok(Bound {
        timetrack: bind_one(a, ROLES[0], base).await?,
        trackingtime: bind_one(b, ROLES[1], base).await?,
        timetracker: bind_one(c, ROLES[2], base).await?,
        status: bind_one(d, ROLES[3], base).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_ports_from_the_base_or_a_clear_refusal() {
        assert_eq!(ports(7870).unwrap(), [7870, 7871, 7872, 7873]);
        assert_eq!(ports(65532).unwrap(), [65532, 65533, 65534, 65535]);
        let too_high = ports(65533).unwrap_err().to_string();
        assert!(too_high.contains("--port-base 65533"), "{too_high}");
        let zero = ports(0).unwrap_err().to_string();
        assert!(zero.contains("--port-base 0"), "{zero}");
    }
}
