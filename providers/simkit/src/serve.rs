//! Serving a simulator's axum router on a listener in the background, stopped when the
//! handle is dropped: the one way the router-based simulators run.

use std::net::SocketAddr;

/// A router served on a background task; the task is aborted when this is dropped.
pub struct Serving {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Serves `app` on `listener`; `name` labels the log line if serving stops with an error.
    pub fn start(
        listener: tokio::net::TcpListener,
        app: axum::Router,
        name: &'static str,
    ) -> std::io::Result<Serving> {
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "{name} simulator stopped");
            }
        });
        Ok(Serving { addr, task })
    }

    /// The address being served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}
