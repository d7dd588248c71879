//! The AWS SDK's HTTP connector: one hyper connection pool over rustls
//! with the process's TLS configuration (`crate::trust`), answering the
//! SDK's requests. The SDK's own connector takes roots only as PEM, and
//! decodes and parses every one of them each time it is built; this one is
//! given ready trust anchors, so building it parses nothing.

use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_util::client::legacy::connect::HttpConnector as Tcp;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The errors a connection's making ends in, as hyper takes them.
type BoxError = Box<dyn Error + Send + Sync>;

/// How long an idle connection is kept for the next request: the SDK's own
/// connector's default.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// One connection pool, with one connect and one read bound.
#[derive(Debug, Clone)]
pub struct Pool {
    client: Client<Bounded<hyper_rustls::HttpsConnector<Tcp>>, SdkBody>,
    read_timeout: Option<Duration>,
}

impl Pool {
    /// A pool over `tls` with `settings`' bounds: a connection (name
    /// lookup, TCP and TLS) must be made within the connect timeout, and an answer's head must
    /// arrive within the read timeout.
    pub fn new(tls: rustls::ClientConfig, settings: &HttpConnectorSettings) -> Self {
        let mut tcp = Tcp::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let connect = Bounded {
            inner: https,
            bound: settings.connect_timeout(),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connect);
        Self {
            client,
            read_timeout: settings.read_timeout(),
        }
    }
}

impl HttpConnector for Pool {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())))
            }
        };
        let answer = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answered = match read_timeout {
                Some(bound) => tokio::time::timeout(bound, answer)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => answer.await,
            };
            let response = answered.map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// A connection (name lookup, TCP and TLS) made within `bound`, as the
/// SDK's own connector bounds it.
#[derive(Debug, Clone)]
pub struct Bounded<S> {
    inner: S,
    bound: Option<Duration>,
}

/// No connection within the connect timeout: the SDK retries it as a timeout.
#[derive(Debug, thiserror::Error)]
#[error("no connection within {0:?}")]
pub struct ConnectTimedOut(Duration);

impl<S> tower_service::Service<hyper::Uri> for Bounded<S>
where
    S: tower_service::Service<hyper::Uri>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let bound = self.bound;
        Box::pin(async move {
            match bound {
                Some(bound) => tokio::time::timeout(bound, connecting)
                    .await
                    .map_err(|_| Box::new(ConnectTimedOut(bound)) as BoxError)?
                    .map_err(Into::into),
                None => connecting.await.map_err(Into::into),
            }
        })
    }
}

/// A connector for a process whose TLS configuration could not be built:
/// every call fails with the reason, which the caller logs and alarms on.
#[derive(Debug, Clone)]
pub struct Unconfigured(pub String);

impl HttpConnector for Unconfigured {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let why = format!("no TLS configuration: {}", self.0);
        HttpConnectorFuture::ready(Err(ConnectorError::other(why.into(), None)))
    }
}

/// What the SDK's retry policy should make of a failed call, as the SDK's
/// own connector classifies hyper's errors: a connection not made, closed
/// or reset is I/O (retried), a timeout a timeout (retried), a request the
/// client got wrong the caller's, an answer cut short transient.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    if source::<ConnectTimedOut>(&error).is_some() {
        return ConnectorError::timeout(Box::new(error));
    }
    let io = source::<std::io::Error>(&error).is_some();
    let hyper = source::<hyper::Error>(&error).map(|hyper| {
        (
            hyper.is_timeout(),
            hyper.is_user(),
            hyper.is_closed() || hyper.is_canceled(),
            hyper.is_incomplete_message(),
        )
    });
    let error = Box::new(error);
    match hyper {
        _ if error.is_connect() => ConnectorError::io(error),
        Some((true, _, _, _)) => ConnectorError::timeout(error),
        Some((_, true, _, _)) => ConnectorError::user(error),
        Some((_, _, true, _)) => ConnectorError::io(error),
        _ if io => ConnectorError::io(error),
        Some((_, _, _, true)) => ConnectorError::other(error, Some(ErrorKind::TransientError)),
        _ => ConnectorError::other(error, None),
    }
}

/// The first error of type `E` in `error`'s chain of sources.
fn source<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_to(port: u16) -> HttpRequest {
        let request = hyper::Request::post(format!("http://127.0.0.1:{port}/"))
            .body(SdkBody::from("{}"))
            .unwrap();
        HttpRequest::try_from(request).unwrap()
    }

    fn bounds(connect: Duration, read: Option<Duration>) -> HttpConnectorSettings {
        let mut settings = HttpConnectorSettings::builder().connect_timeout(connect);
        settings.set_read_timeout(read);
        settings.build()
    }

    fn tls() -> rustls::ClientConfig {
        crate::trust::client_config().unwrap()
    }

    /// A loopback server that accepts connections, reads nothing, answers
    /// nothing and keeps them open: its port, and its task to stop.
    async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        (port, held)
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout_after_the_read_bound() {
        let (port, held) = silent_server().await;
        let pool = Pool::new(
            tls(),
            &bounds(Duration::from_secs(5), Some(Duration::from_millis(200))),
        );
        let error = pool.call(request_to(port)).await.expect_err("no answer");
        assert!(error.is_timeout(), "{error:?}");
        held.abort();
    }

    #[tokio::test]
    async fn a_server_that_never_finishes_the_handshake_is_a_timeout_after_the_connect_bound() {
        // No TLS handshake is answered.
        let (port, held) = silent_server().await;
        let pool = Pool::new(tls(), &bounds(Duration::from_millis(200), None));
        let request = hyper::Request::post(format!("https://localhost:{port}/"))
            .body(SdkBody::from("{}"))
            .unwrap();
        // Without the bound the call would wait for ever.
        let error = tokio::time::timeout(
            Duration::from_secs(30),
            pool.call(HttpRequest::try_from(request).unwrap()),
        )
        .await
        .expect("the connect bound ends the call")
        .expect_err("no handshake");
        assert!(error.is_timeout(), "{error:?}");
        held.abort();
    }

    #[tokio::test]
    async fn a_refused_connection_is_io_which_the_sdk_retries() {
        // The discard port: nothing listens there.
        let pool = Pool::new(tls(), &bounds(Duration::from_secs(5), None));
        let error = pool.call(request_to(9)).await.expect_err("refused");
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn an_answer_reaches_the_sdk_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await.unwrap();
                head.extend_from_slice(&buffer[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 418 I'm a teapot\r\nx-amzn-requestid: r-1\r\ncontent-length: 5\r\n\r\nshort")
                .await
                .unwrap();
        });
        let pool = Pool::new(tls(), &bounds(Duration::from_secs(5), None));
        let response = pool.call(request_to(port)).await.expect("an answer");
        assert_eq!(response.status().as_u16(), 418);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("r-1"));
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], b"short");
    }

    #[tokio::test]
    async fn a_process_without_tls_fails_each_call_with_the_reason() {
        let error = Unconfigured("no provider".into())
            .call(request_to(9))
            .await
            .expect_err("no call without TLS");
        assert!(format!("{error:?}").contains("no provider"), "{error:?}");
    }
}
