//! The app router: sends `<app>.<domain>` (and custom domain) traffic to the app's `up`
//! web containers, spread among them round-robin, with bodies streamed both ways.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::hosts::HostTable;
use crate::scheduler::Scheduler;

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// How long connecting to a container may take before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

// LIMITATION: `Upgrade` is dropped with the other hop-by-hop headers, so WebSocket and
// other protocol upgrades do not reach the app.
/// Headers that belong to one connection and are not passed on (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What every connection of the router shares.
struct Router {
    hosts: Arc<HostTable>,
    scheduler: Arc<dyn Scheduler>,
    client: Client<HttpConnector, RetryableBody>,
    /// Round-robin position per app.
    turns: Mutex<HashMap<String, Arc<AtomicUsize>>>,
}

/// Serves the router on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, hosts: Arc<HostTable>, scheduler: Arc<dyn Scheduler>) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector);
    let router = Arc::new(Router {
        hosts,
        scheduler,
        client,
        turns: Mutex::default(),
    });

    loop {
        let (stream, client_addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %err, "router could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let router = router.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(router.route(request, client_addr).await)
                }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(err) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(client = %client_addr, error = %err, "router connection ended with an error");
            }
        });
    }
}

impl Router {
    /// Answers one request: by proxying it to one of the app's containers, or with a 404
    /// (no app by that host), 503 (no container up) or 502 (no container reachable).
    async fn route(&self, request: Request<Incoming>, client: SocketAddr) -> Response<ProxyBody> {
        let Some(host) = request_host(&request) else {
            return text(StatusCode::NOT_FOUND, "No app is served at this host.\n");
        };
        let Some(app) = self.hosts.resolve(&host) else {
            return text(StatusCode::NOT_FOUND, "No app is served at this host.\n");
        };
        let endpoints = self.scheduler.endpoints(&app);
        if endpoints.is_empty() {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "The app has no running web process.\n",
            );
        }

        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        forwarding_headers(&mut parts.headers, &host, client);
        let method = parts.method.clone();
        let body = Arc::new(Mutex::new(Some(body)));

        // Try the endpoints in turn from this request's starting point; a container that
        // refuses the connection gives way to the next one.
        let first = self.next_turn(&app);
        for i in 0..endpoints.len() {
            let endpoint = endpoints[(first + i) % endpoints.len()];
            let Ok(uri) = Uri::builder()
                .scheme("http")
                .authority(endpoint.to_string())
                .path_and_query(path.as_str())
                .build()
            else {
                return text(
                    StatusCode::BAD_REQUEST,
                    "The request target cannot be forwarded.\n",
                );
            };
            let mut forwarded =
                Request::from_parts(parts.clone(), RetryableBody::new(body.clone()));
            *forwarded.uri_mut() = uri;
            *forwarded.version_mut() = http::Version::HTTP_11;

            match self.client.request(forwarded).await {
                Ok(response) => {
                    let (mut parts, body) = response.into_parts();
                    remove_hop_by_hop(&mut parts.headers);
                    tracing::debug!(%app, %method, %path, %endpoint, status = parts.status.as_u16(), "routed");
                    return Response::from_parts(parts, body.boxed());
                }
                Err(err) if err.is_connect() && body_untouched(&body) => {
                    tracing::debug!(%app, %endpoint, error = %err, "container refused the connection, trying the next");
                }
                Err(err) => {
                    tracing::warn!(%app, %endpoint, error = %err, "proxying to the container failed");
                    return text(
                        StatusCode::BAD_GATEWAY,
                        "The app's web process did not answer.\n",
                    );
                }
            }
        }
        tracing::warn!(%app, endpoints = endpoints.len(), "no container of the app accepted the connection");
        text(
            StatusCode::BAD_GATEWAY,
            "The app's web process did not answer.\n",
        )
    }

    fn next_turn(&self, app: &str) -> usize {
        let counter = self
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(app.to_string())
            .or_default()
            .clone();
        counter.fetch_add(1, Ordering::Relaxed)
    }
}

/// The host a request names: its Host header, or the authority of an absolute-form target.
fn request_host<B>(request: &Request<B>) -> Option<String> {
    if let Some(authority) = request.uri().authority() {
        return Some(authority.as_str().to_string());
    }
    request
        .headers()
        .get(header::HOST)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// Removes the hop-by-hop headers, including those the Connection header names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP.map(HeaderName::from_static)) {
        headers.remove(name);
    }
}

/// Makes the headers ready for the app: hop-by-hop ones out, `X-Forwarded-*` in.
fn forwarding_headers(headers: &mut HeaderMap, host: &str, client: SocketAddr) {
    remove_hop_by_hop(headers);

    let client_ip = client.ip().to_string();
    let chain = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) if !earlier.trim().is_empty() => format!("{earlier}, {client_ip}"),
        _ => client_ip,
    };
    if let Ok(value) = HeaderValue::from_str(&chain) {
        headers.insert("x-forwarded-for", value);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if let Ok(value) = HeaderValue::from_str(host) {
        headers.insert("x-forwarded-host", value);
    }
    // The original Host goes on as it came, so the app sees its own name.
    if !headers.contains_key(header::HOST) {
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(header::HOST, value);
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn body_untouched(slot: &Mutex<Option<Incoming>>) -> bool {
    slot.lock().unwrap_or_else(|e| e.into_inner()).is_some()
}

/// The client's request body, streamed to a container. It is taken from a shared slot on
/// first read, so when connecting to one container fails (before any byte was read) the
/// same body can still go to the next container — without ever buffering it.
struct RetryableBody {
    slot: Arc<Mutex<Option<Incoming>>>,
    taken: Option<Incoming>,
    /// Size and end-of-stream as known before the body is taken.
    hint: SizeHint,
    empty: bool,
}

impl RetryableBody {
    fn new(slot: Arc<Mutex<Option<Incoming>>>) -> RetryableBody {
        let (hint, empty) = match &*slot.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(body) => (body.size_hint(), body.is_end_stream()),
            None => (SizeHint::with_exact(0), true),
        };
        RetryableBody {
            slot,
            taken: None,
            hint,
            empty,
        }
    }
}

impl Body for RetryableBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        if this.taken.is_none() {
            this.taken = this.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        match this.taken.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.taken {
            Some(body) => body.is_end_stream(),
            None => self.empty,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.taken {
            Some(body) => body.size_hint(),
            None => self.hint,
        }
    }
}
