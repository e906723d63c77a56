//! What the rtmp-std tests share: our relay served on a loopback port, an in-memory duplex
//! pipe as a transport, and packet comparisons.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtmp_std::relay::Relay;
use rtmp_std::server::{Server, StopHandle};
use rtmp_std::Transport;
use rtmp_tests::peers::Packet;

/// Our relay, serving on 127.0.0.1 (a thread per connection) until dropped.
pub struct RelayServer {
    pub port: u16,
    pub relay: Relay,
    stop: StopHandle,
    serving: Option<JoinHandle<io::Result<()>>>,
}

impl RelayServer {
    pub fn start() -> RelayServer {
        Self::start_with(Server::bind("127.0.0.1:0").unwrap())
    }

    /// Serves the relay on `server`, configured already (TLS, for one).
    pub fn start_with(server: Server) -> RelayServer {
        let port = server.local_addr().expect("local address").port();
        let stop = server.stop_handle().expect("a stop handle");
        let relay = Relay::new();
        let serving = relay.clone();
        let thread = std::thread::spawn(move || {
            server.serve(move |session, _peer| {
                let _ = serving.handle(session);
            })
        });
        RelayServer {
            port,
            relay,
            stop,
            serving: Some(thread),
        }
    }

    /// `SCHEME://127.0.0.1:PORT/live/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }

    /// Waits (at most 10 s) until `condition` holds of the relay.
    pub fn wait_until(&self, what: &str, condition: impl Fn(&Relay) -> bool) {
        wait_until(what, || condition(&self.relay));
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.serving.take() {
            let _ = thread.join();
        }
    }
}

/// Waits (at most 10 s) until `condition` holds; panics past that.
pub fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One direction of a [`pipe`]: bytes in flight, bounded, and whether the writer is gone.
#[derive(Default)]
struct Lane {
    bytes: Mutex<(VecDeque<u8>, bool)>,
    changed: Condvar,
}

/// One end of an in-memory duplex byte stream: what it writes, the other end reads. Writes
/// block while the other end has `capacity` bytes unread; reads honour the read timeout;
/// dropping an end is the other end's end of file.
pub struct PipeEnd {
    incoming: Arc<Lane>,
    outgoing: Arc<Lane>,
    capacity: usize,
    read_timeout: Option<Duration>,
}

/// Two connected ends, each buffering at most `capacity` bytes towards the other.
pub fn pipe(capacity: usize) -> (PipeEnd, PipeEnd) {
    let (a, b) = (Arc::new(Lane::default()), Arc::new(Lane::default()));
    let end = |incoming: &Arc<Lane>, outgoing: &Arc<Lane>| PipeEnd {
        incoming: incoming.clone(),
        outgoing: outgoing.clone(),
        capacity,
        read_timeout: None,
    };
    (end(&a, &b), end(&b, &a))
}

impl Read for PipeEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = self.read_timeout.map(|timeout| Instant::now() + timeout);
        let mut state = self.incoming.bytes.lock().unwrap();
        loop {
            let (bytes, writer_gone) = &mut *state;
            if !bytes.is_empty() {
                let count = buf.len().min(bytes.len());
                for (slot, byte) in buf.iter_mut().zip(bytes.drain(..count)) {
                    *slot = byte;
                }
                self.incoming.changed.notify_all();
                return Ok(count);
            }
            if *writer_gone {
                return Ok(0);
            }
            state = match deadline {
                None => self.incoming.changed.wait(state).unwrap(),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    self.incoming.changed.wait_timeout(state, left).unwrap().0
                }
            };
        }
    }
}

impl Write for PipeEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.outgoing.bytes.lock().unwrap();
        loop {
            let (bytes, _) = &mut *state;
            let room = self.capacity.saturating_sub(bytes.len());
            if room > 0 {
                let count = room.min(buf.len());
                bytes.extend(&buf[..count]);
                self.outgoing.changed.notify_all();
                return Ok(count);
            }
            state = self.outgoing.changed.wait(state).unwrap();
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for PipeEnd {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout = timeout;
        Ok(())
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        let mut state = self.outgoing.bytes.lock().unwrap();
        state.1 = true;
        self.outgoing.changed.notify_all();
        Ok(())
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let _ = self.shutdown_write();
    }
}

/// Every packet of every codec type, in order: `codec_type hash`.
pub fn all_hashes(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .map(|packet| format!("{} {}", packet.codec_type, packet.data_hash))
        .collect()
}
