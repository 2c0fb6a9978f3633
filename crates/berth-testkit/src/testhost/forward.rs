//! A TCP forwarder from inside a host's network namespace to the root
//! namespace: a listener bound on `127.0.0.1:<port>` in the host (a
//! short-lived thread enters the namespace, binds and exits; the socket
//! stays in that namespace), each accepted connection relayed to
//! `127.0.0.1:<port>` of the machine. So the test API server is reachable
//! from every host without touching the machine's interfaces.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use rustix::thread::LinkNameSpaceType;

/// A running forwarder; dropping it stops accepting (open connections end
/// with their peers).
pub struct Forwarder {
    listener: Arc<TcpListener>,
    stopped: Arc<AtomicBool>,
}

/// Binds `127.0.0.1:port` inside the network namespace `netns`.
fn bind_in(netns: &str, port: u16) -> Result<TcpListener> {
    let path = format!("/var/run/netns/{netns}");
    let bind = move || -> Result<TcpListener> {
        let ns = File::open(&path).with_context(|| format!("opening {path}"))?;
        rustix::thread::move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
            .with_context(|| format!("entering {path}"))?;
        TcpListener::bind(("127.0.0.1", port)).context("binding inside the host")
    };
    std::thread::spawn(bind)
        .join()
        .map_err(|_| anyhow::anyhow!("the binding thread panicked"))?
}

impl Forwarder {
    /// Forwards `127.0.0.1:port` in `netns` to `127.0.0.1:port` here. Must
    /// be called from a thread in the root network namespace.
    pub fn start(netns: &str, port: u16) -> Result<Self> {
        let listener = Arc::new(bind_in(netns, port)?);
        let stopped = Arc::new(AtomicBool::new(false));
        let (l, s) = (listener.clone(), stopped.clone());
        std::thread::spawn(move || accept_loop(&l, &s, port));
        Ok(Self { listener, stopped })
    }
}

fn accept_loop(listener: &TcpListener, stopped: &AtomicBool, port: u16) {
    loop {
        let conn = listener.accept();
        if stopped.load(Ordering::Acquire) {
            return;
        }
        let Ok((inner, _)) = conn else { continue };
        let Ok(outer) = TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        relay(inner, outer);
    }
}

/// Copies both ways on two threads; each direction closes its write half
/// when its read side ends.
fn relay(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    std::thread::spawn(move || pipe(a, b));
    std::thread::spawn(move || pipe(b2, a2));
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
        // Wakes the blocked accept (Linux returns EINVAL from it).
        let _ = rustix::net::shutdown(self.listener.as_fd(), rustix::net::Shutdown::Read);
    }
}
