//! `SYNC_BENCH_STRIPE=1 cargo bench -p backend --bench sync`: the sync under Stripe's conditions
//! (issue 18's benchmark). For now it starts the Stripe-like server (`stripe_server.rs`) and
//! checks it; the scenarios follow.

use crate::stripe_check::check_stripe_server;
use crate::stripe_server::stripe_server;

/// Selects this mode (`1`).
pub const MODE: &str = "SYNC_BENCH_STRIPE";

/// Starts the Stripe-like server and checks it.
pub async fn run() {
    let (url, server) = stripe_server().await;
    check_stripe_server(&url, &server).await;
    println!("the Stripe-like server at {url} answers as Stripe would (checked)");
}
