//! The accept loop: hyper's HTTP/1 connections with a header-read timeout (a slow-header client is
//! cut off), a cap on open connections (accepting waits for a free slot) and on those of one client
//! address (a trusted reverse proxy's excepted), the peer's address for throttling, and graceful
//! shutdown. `axum::serve` offers none of the first two.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::client_ip::TrustedProxies;

/// The server's limits (values in the README).
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request's head must arrive within this long.
    pub header_read_timeout: Duration,
    /// At most this many connections are open at once.
    pub max_connections: usize,
    /// At most this many of them from one client address: one client cannot take every slot.
    pub max_connections_per_client: usize,
    /// Peers exempt from `max_connections_per_client` (`TRUSTED_PROXIES`): each carries many
    /// clients (see [`serve`]).
    pub trusted_proxies: TrustedProxies,
    /// How long shutdown waits for open connections.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_client: 64,
            trusted_proxies: TrustedProxies::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections finish
/// (up to the grace period).
///
/// A connection is counted against its peer address when it is accepted, before any header is
/// read, so a reverse proxy's connections cannot be told apart by client here. A peer in
/// `TRUSTED_PROXIES` is therefore not capped per address at all: it carries every client behind it
/// (one connection each, or a pool shared by all), and capping it as one client would refuse the
/// 65th user of the whole product. Fairness between those clients is the proxy's to enforce — it
/// sees them (nginx `limit_conn` keyed by the client's address, say) — while the global cap
/// (`max_connections`) still bounds what we hold open, for the proxies and everyone else together.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let (closing, closed) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A trusted proxy is many clients: no per-address slot (see above).
        let client = if limits.trusted_proxies.contains(addr.ip()) {
            None
        } else {
            match ClientSlot::take(&per_client, addr.ip(), limits.max_connections_per_client) {
                Some(slot) => Some(slot),
                None => {
                    tracing::warn!(client = %addr.ip(), "too many connections from one client; refused");
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(addr));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(
                    router
                        .oneshot(request.map(axum::body::Body::new))
                        .await
                        .unwrap_or_else(|never| match never {}),
                )
            }
        });
        let mut closed = closed.clone();
        let header_read_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let _client = client;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                _ = closed.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = closing.send(true);
    // Every slot back means every connection has finished.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all)).await;
    Ok(())
}

/// One open connection of a client address, counted until dropped.
struct ClientSlot {
    counts: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ClientSlot {
    /// A slot for `ip`, unless it already holds `max`.
    fn take(
        counts: &Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        max: usize,
    ) -> Option<Self> {
        let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Self {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = map.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}
