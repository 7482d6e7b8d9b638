//! Paging of TimeTracker lists: page numbers from 1 with the server's `pagination` block, and a
//! page token that also carries the ids of the page just returned, so records that shift into
//! the next page when data changes mid-listing are not listed twice.

use std::collections::BTreeSet;

use timeweave_contract::{PageToken, ProviderError};

use crate::wire;

/// A page token: the next page number, plus the ids of the page just returned (to drop
/// records that shift into the next page when data changes mid-listing).
pub fn encode_token(next: i64, seen: &[i64]) -> PageToken {
    let ids: Vec<String> = seen.iter().map(i64::to_string).collect();
    PageToken(format!("{next}:{}", ids.join(",")))
}

pub fn decode_token(token: Option<&PageToken>) -> Result<(i64, BTreeSet<i64>), ProviderError> {
    let Some(token) = token else {
        return Ok((1, BTreeSet::new()));
    };
    let bad = || ProviderError::rejected(format!("not a TimeTracker page token: {:?}", token.0));
    let (page, ids) = token.0.split_once(':').ok_or_else(bad)?;
    let page = page.parse::<i64>().map_err(|_| bad())?;
    let seen = ids
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    Ok((page.max(1), seen))
}

/// The next page number of a list, if any. `full_page_means_more` covers paginators whose
/// totals are estimates (tasks).
pub fn next_page(list: &wire::ListPage, page: i64, full_page_means_more: bool) -> Option<i64> {
    if list.items.is_empty() {
        return None;
    }
    if list.pagination.has_next || list.pagination.next_page.is_some() {
        return Some(list.pagination.next_page.unwrap_or(page + 1).max(page + 1));
    }
    (full_page_means_more && list.items.len() as i64 >= list.pagination.per_page.max(1))
        .then_some(page + 1)
}

/// Records per page the adapter asks for (the server caps time entries at 100).
pub const PAGE_SIZE: i64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens() {
        let t = encode_token(3, &[5, 9]);
        let (page, seen) = decode_token(Some(&t)).unwrap();
        assert_eq!(page, 3);
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![5, 9]);
        assert_eq!(decode_token(None).unwrap().0, 1);
        assert!(decode_token(Some(&PageToken("x".into()))).is_err());
    }
}
