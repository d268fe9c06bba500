//! The HTTP server loop every TriggerX service listens with: axum's router on hyper with a header (and
//! idle keep-alive) read timeout against slowloris, a cap on open connections, a cap on requests in
//! flight answered with 503 instead of queueing, a per-request time limit, a panic guard, and graceful
//! shutdown, over HTTP/1.1. `axum::serve` has none of these.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Limits of one server. The defaults suit a public API on a small machine.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Time a client has to send a request's headers, and the longest a keep-alive connection may sit idle.
    pub header_read_timeout: Duration,
    /// Longest a request may take end to end before it is answered 503.
    pub request_timeout: Duration,
    /// Open connections at most; further connections are closed at once.
    pub max_connections: usize,
    /// Requests handled at the same time at most; further requests get 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Time in-flight requests get to finish on shutdown.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_in_flight: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A JSON error body in the API's shape: `{"error": {"code", "message"}}`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// Wraps `router` in the per-request guards of `limits`: time limit, in-flight cap, panic guard.
pub fn guarded(router: Router, limits: &ServerLimits) -> Router {
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    let request_timeout = limits.request_timeout;
    router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        let in_flight = in_flight.clone();
        async move {
            let Ok(_permit) = in_flight.try_acquire_owned() else {
                let mut response =
                    error_response(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "too many requests in flight; retry");
                response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
                return response;
            };
            // A panicking handler becomes a 500 with the usual body instead of a bare connection reset;
            // caught in place (no task per request), so a client that goes away still cancels it.
            let handled = std::panic::AssertUnwindSafe(tokio::time::timeout(request_timeout, next.run(request)));
            match handled.catch_unwind().await {
                Ok(Ok(response)) => response,
                Ok(Err(_elapsed)) => error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    &format!("the request took longer than {} s", request_timeout.as_secs()),
                ),
                Err(_panic) => {
                    tracing::error!("request handler panicked");
                    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
                }
            }
        }
    }))
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets in-flight requests
/// finish for up to `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = guarded(router, &limits);
    // HTTP/1.1 only: every client of these services speaks it, and hyper's automatic version detection
    // waits for a first byte without any timeout (an idle connection would be held for ever).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: at the connection limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            router.clone().map_request(|request: hyper::Request<Incoming>| request.map(Body::new)),
        );
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
    Ok(())
}
