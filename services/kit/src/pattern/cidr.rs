//! IPv4 and IPv6 address ranges, for `cidr` and for IP-literal exact values.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpRange {
    V4 { low: u32, high: u32 },
    V6 { low: u128, high: u128 },
}

impl IpRange {
    /// Parses a `cidr` operand, e.g. `10.0.0.0/24` or `2001:db8::/64`.
    ///
    /// As in EventBridge, the range runs from the address as written (host bits are not
    /// cleared, so `10.0.0.5/24` covers `10.0.0.5` to `10.0.0.255`), and a mask of /32 (IPv4)
    /// or /128 (IPv6) is refused.
    pub(crate) fn parse_cidr(cidr: &str) -> Result<Self, String> {
        let Some((address, mask)) = cidr.split_once('/') else {
            return Err("Malformed CIDR, one '/' required".into());
        };
        if mask.is_empty() || mask.contains('/') {
            return Err("Malformed CIDR, one '/' required".into());
        }
        let mask: i32 = mask
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_owned())?;
        let mask = u32::try_from(mask)
            .map_err(|_| "Malformed CIDR, mask bits must not be negative".to_owned())?;
        match address.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) if mask < 32 => {
                let low = u32::from(ip);
                Ok(Self::V4 {
                    low,
                    high: low | (u32::MAX >> mask),
                })
            }
            Ok(IpAddr::V4(_)) => Err("IPv4 mask bits must be < 32".into()),
            Ok(IpAddr::V6(ip)) if mask < 128 => {
                let low = u128::from(ip);
                Ok(Self::V6 {
                    low,
                    high: low | (u128::MAX >> mask),
                })
            }
            Ok(IpAddr::V6(_)) => Err("IPv6 mask bits must be < 128".into()),
            Err(_) => Err(format!("Nonstandard IP address: {address}")),
        }
    }

    /// The range holding just `address`.
    pub(crate) fn single(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(ip) => Self::V4 {
                low: ip.into(),
                high: ip.into(),
            },
            IpAddr::V6(ip) => Self::V6 {
                low: ip.into(),
                high: ip.into(),
            },
        }
    }

    /// Whether `candidate` is an address in the range (of the same IP version).
    pub(crate) fn contains(&self, candidate: &str) -> bool {
        match (self, candidate.parse::<IpAddr>()) {
            (Self::V4 { low, high }, Ok(IpAddr::V4(ip))) => (*low..=*high).contains(&u32::from(ip)),
            (Self::V6 { low, high }, Ok(IpAddr::V6(ip))) => {
                (*low..=*high).contains(&u128::from(ip))
            }
            _ => false,
        }
    }
}
