//! An RTMP player on mio, driven straight on `rtmp-proto`: no tokio, no rtmp-std, one thread.
//! It shows all an adapter does for the sans-IO core: it moves bytes between a socket and the
//! connection, reads a clock and hands the time in, and wakes up when the connection asks.
//!
//! ```sh
//! cargo run -p rtmp-proto --example mio_play -- rtmp://127.0.0.1/live/cam1 out.flv 10
//! ```
//!
//! plays `cam1` for up to 10 seconds, or until its publisher leaves, and writes what it gets as
//! FLV.

use std::error::Error;
use std::fs::File;
use std::io::{self, BufWriter, IoSlice, Read, Write};
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant as Clock};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rtmp_proto::flv::{tag_type, FileHeader, Tag};
use rtmp_proto::message::{Data, Message};
use rtmp_proto::session::client::{
    ClientConnection, ClientConnectionConfig, ClientEvent, PlayOptions,
};
use rtmp_proto::session::Instant;
use rtmp_proto::url::RtmpUrl;

const SOCKET: Token = Token(0);

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, path, rest @ ..] = args.as_slice() else {
        return Err("usage: mio_play rtmp://HOST/APP/STREAM OUT.flv [SECONDS]".into());
    };
    let seconds = match rest.first() {
        Some(seconds) => seconds.parse()?,
        None => 10,
    };
    let url = RtmpUrl::parse(url)?;
    let name = url.stream.clone().ok_or("the URL names no stream")?;
    let address = url
        .authority()
        .to_socket_addrs()?
        .next()
        .ok_or("the host has no address")?;

    // The core never reads a clock: this loop does, and passes milliseconds since start.
    let start = Clock::now();
    let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
    let deadline = start + Duration::from_secs(seconds);

    let config = ClientConnectionConfig::player(url.app.clone(), url.tc_url());
    // Nor does it draw randomness of its own: the handshake's comes from here.
    let mut connection = ClientConnection::new(config, &mut StdRng::from_os_rng(), now());
    connection.connect()?;
    connection.create_stream_to_play(&name, PlayOptions::default())?;

    let mut socket = TcpStream::connect(address)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
    let mut events = Events::with_capacity(16);
    let mut file = BufWriter::new(File::create(path)?);
    file.write_all(
        &FileHeader {
            has_audio: true,
            has_video: true,
        }
        .to_bytes(),
    )?;
    let mut buffer = vec![0; 64 * 1024];
    let mut tags = 0u64;

    loop {
        write_out(&mut connection, &mut socket)?;
        while let Some(event) = connection.poll_event() {
            let tag = match event {
                ClientEvent::Audio {
                    timestamp, payload, ..
                } => Tag {
                    tag_type: tag_type::AUDIO,
                    timestamp,
                    data: payload,
                },
                ClientEvent::Video {
                    timestamp, payload, ..
                } => Tag {
                    tag_type: tag_type::VIDEO,
                    timestamp,
                    data: payload,
                },
                ClientEvent::Metadata { metadata, .. } => Tag {
                    tag_type: tag_type::SCRIPT_DATA,
                    timestamp: 0,
                    data: Message::Data(Data::on_metadata(metadata))
                        .to_raw(0, 0)?
                        .payload,
                },
                ClientEvent::PlayStarted { .. } => {
                    eprintln!("playing {name}");
                    continue;
                }
                // The live stream's publisher left (as rtmpdump, stop there), or a recorded
                // one ended: say goodbye politely and let Closed end the loop.
                ClientEvent::Status { status, .. }
                    if status.code == "NetStream.Play.UnpublishNotify" =>
                {
                    connection.close();
                    continue;
                }
                ClientEvent::StreamEof { .. } => {
                    connection.close();
                    continue;
                }
                ClientEvent::Closed(reason) => {
                    // What close() queued (deleteStream) goes out before the socket closes.
                    write_out(&mut connection, &mut socket)?;
                    file.flush()?;
                    eprintln!("{tags} tags written to {path}; the connection ended: {reason}");
                    return Ok(());
                }
                _ => continue,
            };
            let (header, trailer) = tag.framing();
            file.write_all(&header)?;
            file.write_all(&tag.data)?;
            file.write_all(&trailer)?;
            tags += 1;
        }

        // Sleep until the socket is ready, the connection's next timer, or our deadline.
        let wake = connection
            .poll_timeout()
            .map(|at| start + Duration::from_millis(at.as_millis()))
            .map_or(deadline, |at| at.min(deadline));
        poll.poll(
            &mut events,
            Some(wake.saturating_duration_since(Clock::now())),
        )?;

        // mio is edge-triggered: read until the socket has nothing more.
        loop {
            match socket.read(&mut buffer) {
                Ok(0) => {
                    connection.handle_eof(now());
                    break;
                }
                // A peer's fault ends the connection; Closed reports it.
                Ok(read) => {
                    let _ = connection.handle_input(now(), buffer.get(..read).unwrap_or_default());
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            }
        }
        connection.handle_timeout(now());
        if Clock::now() >= deadline {
            connection.close();
        }
    }
}

/// Writes what the connection has to send until it is all out or the socket is full.
fn write_out(connection: &mut ClientConnection, socket: &mut TcpStream) -> io::Result<()> {
    while let Some(output) = connection.poll_transmit() {
        if output.is_empty() {
            break;
        }
        let mut slices = [IoSlice::new(&[]); 64];
        let count = output.io_slices(&mut slices);
        match socket.write_vectored(slices.get(..count).unwrap_or_default()) {
            Ok(written) => output.advance(written),
            // Not yet connected, or the kernel's buffer is full: a writable event follows.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                ) =>
            {
                return Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
