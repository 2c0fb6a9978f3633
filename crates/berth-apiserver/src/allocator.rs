//! ClusterIP and NodePort allocation for Services.
//!
//! Invariant: an address or port is in `used` exactly when a stored Service
//! holds it or a create/update in flight has reserved it. Reservations are
//! released when dropped uncommitted, so a rejected request frees what it took.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use parking_lot::Mutex;

/// An IPv4 CIDR such as 10.43.0.0/16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub base: u32,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = s.split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        if prefix > 30 {
            return None;
        }
        let mask = u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0);
        Some(Self {
            base: u32::from(addr) & mask,
            prefix,
        })
    }

    pub fn size(&self) -> u32 {
        1u32 << (32 - self.prefix as u32)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip >= self.base && ip - self.base < self.size()
    }

    /// The n-th address of the range (0 is the network address).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base + n)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocError {
    NotInRange,
    AlreadyAllocated,
    Full,
}

#[derive(Default)]
struct Used {
    ips: BTreeSet<Ipv4Addr>,
    ports: BTreeSet<u16>,
    next_ip: u32,
    next_port: u16,
}

/// Allocates Service addresses and node ports.
pub struct ServiceAllocator {
    pub service_range: Cidr,
    pub node_ports: (u16, u16),
    used: Arc<Mutex<Used>>,
}

/// Addresses and ports taken for one request; released on drop unless
/// [`Reservation::commit`] was called.
pub struct Reservation {
    used: Option<Arc<Mutex<Used>>>,
    ips: Vec<Ipv4Addr>,
    ports: Vec<u16>,
    /// Field errors found while allocating (e.g. a port already in use).
    pub errors: berth_api::ErrorList,
}

impl Reservation {
    pub fn empty() -> Self {
        Self {
            used: None,
            ips: Vec::new(),
            ports: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn commit(mut self) {
        self.used = None;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(used) = self.used.take() {
            let mut u = used.lock();
            for ip in &self.ips {
                u.ips.remove(ip);
            }
            for p in &self.ports {
                u.ports.remove(p);
            }
        }
    }
}

impl ServiceAllocator {
    pub fn new(service_range: Cidr, node_ports: (u16, u16)) -> Self {
        let used = Used {
            next_ip: 11,
            next_port: node_ports.0,
            ..Default::default()
        };
        Self {
            service_range,
            node_ports,
            used: Arc::new(Mutex::new(used)),
        }
    }

    pub fn reservation(&self) -> Reservation {
        Reservation {
            used: Some(self.used.clone()),
            ips: Vec::new(),
            ports: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Marks what an existing Service holds as used (at start-up).
    pub fn mark_used(&self, ips: &[Ipv4Addr], ports: &[u16]) {
        let mut u = self.used.lock();
        u.ips.extend(ips.iter().copied());
        u.ports.extend(ports.iter().copied());
    }

    /// Frees what a deleted Service held.
    pub fn release(&self, ips: &[Ipv4Addr], ports: &[u16]) {
        let mut u = self.used.lock();
        for ip in ips {
            u.ips.remove(ip);
        }
        for p in ports {
            u.ports.remove(p);
        }
    }

    pub fn take_ip(&self, r: &mut Reservation, ip: Ipv4Addr) -> Result<(), AllocError> {
        if !self.service_range.contains(ip) {
            return Err(AllocError::NotInRange);
        }
        let mut u = self.used.lock();
        if !u.ips.insert(ip) {
            return Err(AllocError::AlreadyAllocated);
        }
        r.ips.push(ip);
        Ok(())
    }

    pub fn next_ip(&self, r: &mut Reservation) -> Result<Ipv4Addr, AllocError> {
        let size = self.service_range.size();
        let mut u = self.used.lock();
        // Skip the network address, .1 (the kubernetes Service) is allocated
        // explicitly, and the broadcast address.
        for _ in 0..size {
            let n = u.next_ip;
            u.next_ip = if n + 1 >= size - 1 { 2 } else { n + 1 };
            let ip = self.service_range.nth(n);
            if u.ips.insert(ip) {
                r.ips.push(ip);
                return Ok(ip);
            }
        }
        Err(AllocError::Full)
    }

    pub fn take_port(&self, r: &mut Reservation, port: u16) -> Result<(), AllocError> {
        if port < self.node_ports.0 || port > self.node_ports.1 {
            return Err(AllocError::NotInRange);
        }
        let mut u = self.used.lock();
        if !u.ports.insert(port) {
            return Err(AllocError::AlreadyAllocated);
        }
        r.ports.push(port);
        Ok(())
    }

    pub fn next_port(&self, r: &mut Reservation) -> Result<u16, AllocError> {
        let (lo, hi) = self.node_ports;
        let mut u = self.used.lock();
        for _ in lo..=hi {
            let p = u.next_port;
            u.next_port = if p >= hi { lo } else { p + 1 };
            if u.ports.insert(p) {
                r.ports.push(p);
                return Ok(p);
            }
        }
        Err(AllocError::Full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc() -> ServiceAllocator {
        ServiceAllocator::new(Cidr::parse("10.43.0.0/16").expect("cidr"), (30000, 30002))
    }

    #[test]
    fn cidr_parses_and_bounds_addresses() {
        let c = Cidr::parse("10.43.7.9/16").expect("cidr");
        assert_eq!(c.to_string(), "10.43.0.0/16");
        assert!(c.contains("10.43.255.1".parse().expect("ip")));
        assert!(!c.contains("10.44.0.1".parse().expect("ip")));
        assert_eq!(c.nth(10).to_string(), "10.43.0.10");
        assert!(Cidr::parse("10.0.0.0/31").is_none());
    }

    #[test]
    fn a_taken_address_is_refused_until_released() {
        let a = alloc();
        let ip = "10.43.0.20".parse().expect("ip");
        let mut r = a.reservation();
        a.take_ip(&mut r, ip).expect("free");
        r.commit();
        let mut r2 = a.reservation();
        assert_eq!(a.take_ip(&mut r2, ip), Err(AllocError::AlreadyAllocated));
        a.release(&[ip], &[]);
        assert_eq!(a.take_ip(&mut r2, ip), Ok(()));
    }

    #[test]
    fn an_uncommitted_reservation_frees_its_ports_on_drop() {
        let a = alloc();
        {
            let mut r = a.reservation();
            assert_eq!(a.next_port(&mut r), Ok(30000));
        }
        let mut r = a.reservation();
        assert_eq!(a.take_port(&mut r, 30000), Ok(()));
        assert_eq!(a.take_port(&mut r, 29999), Err(AllocError::NotInRange));
    }

    #[test]
    fn node_ports_run_out() {
        let a = alloc();
        let mut r = a.reservation();
        for _ in 0..3 {
            a.next_port(&mut r).expect("free port");
        }
        assert_eq!(a.next_port(&mut r), Err(AllocError::Full));
    }
}
