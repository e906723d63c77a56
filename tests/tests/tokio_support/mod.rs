//! What the rtmp-tokio interop tests share: a tokio runtime and our relay on a loopback port.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use rtmp_tokio::relay::{Relay, RelayConfig};
use tokio::runtime::Runtime;

/// A runtime for our side of a test; the peers run as child processes beside it.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Our relay, serving on 127.0.0.1 in a runtime of its own until dropped.
pub struct RelayServer {
    pub port: u16,
    pub relay: Relay,
    runtime: Option<Runtime>,
}

impl RelayServer {
    pub fn start() -> RelayServer {
        let runtime = runtime();
        let relay = Relay::new(RelayConfig::default());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let serving = relay.clone();
        runtime.spawn(async move { serving.serve(listener).await });
        RelayServer {
            port,
            relay,
            runtime: Some(runtime),
        }
    }

    /// `rtmp://127.0.0.1:PORT/live/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }

    /// Waits (at most 10 s) until `condition` holds of the relay.
    pub fn wait_until(&self, what: &str, condition: impl Fn(&Relay) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition(&self.relay) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
