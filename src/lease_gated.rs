//! A provider whose writes go only while this process holds the instance's lease before
//! its local deadline (`LeaseKeeper::may_write`): the daemon wraps each instance's adapter
//! in it on a shared PostgreSQL ledger. Reads pass as they are. A write past the lease's local deadline is not sent and
//! fails with `ProviderError::Stopped` (it certainly did not reach the provider); the
//! cycle then stops at its next ledger write, which the fencing token refuses.

use std::sync::Arc;

use async_trait::async_trait;
use timeweave_contract::{
    Capabilities, EntrySpan, Kind, ListScope, Observation, Page, PageToken, Provider,
    ProviderError, ProviderInfo, Record, RemoteId, RemoteRecord, UpdateTarget, WriteOp,
};

use crate::leases::LeaseKeeper;

pub struct LeaseGated {
    inner: Arc<dyn Provider>,
    leases: Arc<LeaseKeeper>,
    /// The instance's name (the lease's).
    instance: String,
}

impl LeaseGated {
    pub fn new(inner: Arc<dyn Provider>, leases: Arc<LeaseKeeper>, instance: &str) -> LeaseGated {
        LeaseGated {
            inner,
            leases,
            instance: instance.to_owned(),
        }
    }

    fn pass(&self) -> Result<(), ProviderError> {
        if self.leases.may_write(&self.instance) {
            Ok(())
        } else {
            tracing::warn!(
                provider = %self.instance,
                "write not sent: this process's lease on the instance ran out"
            );
            Err(ProviderError::Stopped)
        }
    }
}

#[async_trait]
impl Provider for LeaseGated {
    fn kind_name(&self) -> &'static str {
        self.inner.kind_name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn connect(&self) -> Result<ProviderInfo, ProviderError> {
        self.inner.connect().await
    }

    async fn account_identity(&self) -> Result<String, ProviderError> {
        self.inner.account_identity().await
    }

    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        self.inner.list_page(kind, scope, token).await
    }

    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError> {
        self.inner.get(kind, id).await
    }

    async fn create(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<RemoteRecord, ProviderError> {
        self.pass()?;
        self.inner.create(record, idempotency_key).await
    }

    async fn update(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError> {
        self.pass()?;
        self.inner.update(target, record).await
    }

    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError> {
        self.pass()?;
        self.inner.delete(kind, id).await
    }

    async fn find_created(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        self.inner.find_created(record, idempotency_key).await
    }

    async fn entry_span(&self) -> Result<EntrySpan, ProviderError> {
        self.inner.entry_span().await
    }

    async fn observations(&self) -> Result<Vec<Observation>, ProviderError> {
        self.inner.observations().await
    }

    fn check_writable(&self, op: WriteOp, record: &Record<RemoteId>) -> Result<(), ProviderError> {
        self.inner.check_writable(op, record)
    }
}
