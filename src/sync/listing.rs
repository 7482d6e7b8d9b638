//! Reading a listing ahead of the engine: one task requests a kind's pages one after the
//! other (each needs the previous page's token) as fast as the provider and its rate limit
//! allow, into a bounded queue; the pull takes every page that has arrived as one batch.
//! So the provider's round trips overlap the ledger's work, and a provider with small pages
//! (TimeTracker caps them at 100) costs one set of ledger queries per batch, not per page.

use std::sync::Arc;

use timeweave_contract::{Kind, ListScope, Page, PageItem, PageToken, Provider, ProviderError};
use tokio::sync::mpsc;
use tracing::Instrument;

/// Pages requested ahead of the one being applied, at most.
const PAGES_AHEAD: usize = 16;

/// What a listing yields next.
pub(crate) enum Batch {
    /// Pages that had arrived, in listing order (at least one).
    Pages(Vec<Vec<PageItem>>),
    /// The pages before this failure were all yielded.
    Failed(ProviderError),
    /// Every page was yielded.
    Done,
}

/// A listing being read ahead; dropping it abandons the requests.
pub(crate) struct PageReader {
    pages: mpsc::Receiver<Result<Page, ProviderError>>,
    task: tokio::task::JoinHandle<()>,
    /// A failure that arrived behind pages already taken into a batch.
    failed: Option<ProviderError>,
    done: bool,
}

impl PageReader {
    pub fn start(provider: Arc<dyn Provider>, kind: Kind, scope: ListScope) -> Self {
        let (tx, rx) = mpsc::channel(PAGES_AHEAD);
        // In the caller's span (the cycle's), so the adapter's and transport's logs of the
        // read-ahead carry its `provider`.
        let task = tokio::spawn(
            async move {
                let mut token: Option<PageToken> = None;
                loop {
                    let page = provider.list_page(kind, scope, token.take()).await;
                    let next = page.as_ref().ok().and_then(|p| p.next.clone());
                    if tx.send(page).await.is_err() {
                        return; // the reader is gone
                    }
                    match next {
                        Some(t) => token = Some(t),
                        None => return, // the last page, or a failure
                    }
                }
            }
            .instrument(tracing::Span::current()),
        );
        PageReader {
            pages: rx,
            task,
            failed: None,
            done: false,
        }
    }

    /// Waits for the next page, then takes every page that has arrived behind it, up to
    /// `max_items` records in all.
    pub async fn next_batch(&mut self, max_items: usize) -> Batch {
        if let Some(e) = self.failed.take() {
            return Batch::Failed(e);
        }
        if self.done {
            return Batch::Done;
        }
        let first = match self.pages.recv().await {
            Some(p) => p,
            None => return self.ended().await,
        };
        let mut pages = Vec::new();
        let mut items = 0;
        let mut next = Some(first);
        while let Some(page) = next.take() {
            match page {
                Ok(p) => {
                    self.done = p.next.is_none();
                    items += p.items.len();
                    pages.push(p.items);
                }
                Err(e) if pages.is_empty() => return Batch::Failed(e),
                Err(e) => {
                    self.failed = Some(e);
                    break;
                }
            }
            if items < max_items && !self.done {
                next = self.pages.try_recv().ok();
            }
        }
        Batch::Pages(pages)
    }

    /// Whether a page (or a failure) is waiting to be taken.
    pub fn has_arrived(&self) -> bool {
        self.failed.is_some() || !self.pages.is_empty()
    }

    /// The queue closed before the last page: the listing task ended abnormally. A panic
    /// in the adapter goes on as a panic, as if it had happened here.
    async fn ended(&mut self) -> Batch {
        if let Err(e) = (&mut self.task).await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        Batch::Failed(ProviderError::Retryable {
            message: "the listing stopped before its last page".into(),
            retry_after: None,
        })
    }
}

impl Drop for PageReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}
