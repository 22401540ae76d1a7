//! End-to-end: the real backend binary (built beforehand by the test command, never here) serving
//! the built SPA from `dist/`, driven in headless Chromium through the whole seed flow and the
//! three ways to connect an account; and the widget on a host product's page. Over plain HTTP: a
//! backend killed mid-sync, and two backends sharing one PostgreSQL database (`instances`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accessibility;
mod api;
mod connect_ways;
mod demo_freshness;
mod harness;
mod instances;
mod keyboard;
mod postgres;
mod seed_flow;
mod sync_restart;
mod trunk_serve;
mod widget_host;
