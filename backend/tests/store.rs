//! The store's transactions on either database: one cancelled while it begins (a sync reader
//! aborted because another list failed) leaves no pooled connection inside a transaction, so every
//! later statement on the pool commits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use backend::args;
use backend::store;

/// Lets the scheduler run `n` times, then ends.
async fn yields(n: usize) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_transaction_cancelled_while_it_begins_leaves_no_connection_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::test_database_url(dir.path()).await;
    let db = store::connect(&url).await.unwrap();
    db.execute("CREATE TABLE cancel_probe (n BIGINT NOT NULL)", args![])
        .await
        .unwrap();
    // Cancelled after more and more turns of the scheduler: before the connection is taken, while
    // `BEGIN` is on the wire, after the server answered.
    let tries = 300;
    for n in 0..tries {
        tokio::select! {
            biased;
            () = yields(n) => {}
            tx = db.begin() => drop(tx.unwrap()),
        }
        db.execute("INSERT INTO cancel_probe (n) VALUES ($1)", args![n as i64])
            .await
            .unwrap();
    }
    // Another pool (other connections) sees what was committed.
    let other = store::connect(&url).await.unwrap();
    let rows: i64 = other
        .scalar_one("SELECT COUNT(*) FROM cancel_probe", args![])
        .await
        .unwrap();
    assert_eq!(rows, tries as i64, "every insert committed");
    other.close().await;
    db.close().await;
}
