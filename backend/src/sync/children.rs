//! Child lists read whole: Stripe embeds at most ten of an invoice's lines or a subscription's
//! items (`has_more: true` beyond), so before such objects are stored each cut list is read from
//! its own endpoint (several parents at once, within the connection's limits) and put back in the
//! object whole. The stored JSON then holds every child, and the warehouse's child tables follow
//! from it.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::limits::Endpoint;
use super::run::Run;
use crate::services::credentials::CredentialError;
use crate::stripe::lists::{ChildList, StripeList};

/// Parents whose children are read at the same time.
const AT_ONCE: usize = 8;
/// Pages of one parent's children read at most (10,000 children): a longer list is a broken one.
const MAX_PAGES: usize = 100;

/// Completes every cut child list in `objects` (of `list`).
pub(super) async fn complete(
    run: &Run,
    list: StripeList,
    objects: &mut [Value],
) -> Result<(), CredentialError> {
    let Some(child) = ChildList::of(list) else {
        return Ok(());
    };
    let cut: Vec<(usize, String)> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o[child.field()]["has_more"] == true)
        .filter_map(|(i, o)| Some((i, o["id"].as_str()?.to_owned())))
        .collect();
    let read: Vec<(usize, Vec<Value>)> = stream::iter(cut)
        .map(|(i, parent)| async move { children(run, child, &parent).await.map(|data| (i, data)) })
        .buffer_unordered(AT_ONCE)
        .try_collect()
        .await?;
    for (i, data) in read {
        let embedded = &mut objects[i][child.field()];
        embedded["data"] = Value::Array(data);
        embedded["has_more"] = Value::Bool(false);
    }
    Ok(())
}

/// Every child of `parent`, in Stripe's order.
async fn children(
    run: &Run,
    child: ChildList,
    parent: &str,
) -> Result<Vec<Value>, CredentialError> {
    let mut all: Vec<Value> = Vec::new();
    for _ in 0..MAX_PAGES {
        let after = all.last().and_then(|o| o["id"].as_str()).map(str::to_owned);
        let page = run
            .read(Endpoint::Children(child.parent()), |client, key| {
                let (parent, after) = (parent.to_owned(), after.clone());
                async move {
                    client
                        .child_page_once(child, &parent, after.as_deref(), &key)
                        .await
                }
            })
            .await?;
        let more = page.has_more && !page.data.is_empty();
        all.extend(page.data);
        if !more {
            return Ok(all);
        }
    }
    Err(CredentialError::Stripe(
        crate::stripe::StripeError::Malformed(format!(
            "{}: more than {MAX_PAGES} pages",
            child.table()
        )),
    ))
}
