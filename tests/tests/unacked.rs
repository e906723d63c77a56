//! `ServerOptions::unacked_timeout` reaches the TCP streams both adapters' servers accept as
//! `TCP_USER_TIMEOUT` (Linux), so a peer that acknowledges none of our bytes is dropped by the
//! kernel even while our answers still fit in its send buffer.

use std::net::TcpStream;
use std::time::Duration;

use rtmp_proto::session::ServerConnectionConfig;
use socket2::SockRef;

fn config(timeout: Option<Duration>) -> ServerConnectionConfig {
    let mut config = ServerConnectionConfig::default();
    config.options.unacked_timeout = timeout;
    config
}

#[test]
fn the_tokio_server_bounds_unacknowledged_bytes_on_what_it_accepts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for (timeout, expected) in [
            (None, None),
            (Some(Duration::from_secs(7)), Some(Duration::from_secs(7))),
        ] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let server = rtmp_tokio::server::Server::from_listener(listener, config(timeout));
            let _peer = tokio::net::TcpStream::connect(address).await.unwrap();
            let (session, _) = server.accept().await.unwrap();
            let set = SockRef::from(session.transport())
                .tcp_user_timeout()
                .unwrap();
            assert_eq!(set, expected);
        }
    });
    assert_eq!(
        ServerConnectionConfig::default().options.unacked_timeout,
        Some(Duration::from_secs(30))
    );
}

#[test]
fn the_std_server_bounds_unacknowledged_bytes_on_what_it_accepts() {
    for (timeout, expected) in [
        (None, None),
        (Some(Duration::from_secs(7)), Some(Duration::from_secs(7))),
    ] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = rtmp_std::server::Server::from_listener(listener, config(timeout));
        let _peer = TcpStream::connect(address).unwrap();
        let (session, _) = server.accept().unwrap();
        let tcp: &TcpStream = session.transport().tcp();
        assert_eq!(SockRef::from(tcp).tcp_user_timeout().unwrap(), expected);
    }
}
