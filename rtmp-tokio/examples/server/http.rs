//! `--http ADDR`: `/metrics` in the Prometheus text format and `/api/streams` as JSON, both
//! read from [`Relay::stats`] at each request.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rtmp_tokio::proto::relay::{ConnectionRole, RelayStats};
use rtmp_tokio::relay::{RecordingCounts, Relay};
use serde_json::json;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    app: String,
    stream: String,
}

/// Serves `listener` until the process ends.
pub async fn serve(listener: TcpListener, relay: Relay) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let relay = relay.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = respond(&request, &relay);
                async move { Ok::<_, Infallible>(response) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(%error, "http connection");
            }
        });
    }
}

fn respond(request: &Request<hyper::body::Incoming>, relay: &Relay) -> Response<Full<Bytes>> {
    let (content_type, body) = match request.uri().path() {
        "/metrics" => (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics(&relay.stats(), relay.recordings()),
        ),
        "/api/streams" => ("application/json", streams_json(&relay.stats())),
        _ => {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::new(Bytes::from_static(b"not found\n")))
                .unwrap_or_default();
        }
    };
    Response::builder()
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// The relay's numbers in the Prometheus (OpenMetrics) text format.
fn metrics(stats: &RelayStats, recordings: RecordingCounts) -> String {
    let mut registry = Registry::default();
    let gauge = |registry: &mut Registry, name: &str, help: &str, value: i64| {
        let metric = Gauge::<i64>::default();
        metric.set(value);
        registry.register(name, help, metric);
    };
    gauge(
        &mut registry,
        "rtmp_streams",
        "Streams with a publisher or players",
        stats.streams.len() as i64,
    );
    gauge(
        &mut registry,
        "rtmp_connections",
        "Open connections",
        stats.connections.len() as i64,
    );
    let total = |registry: &mut Registry, name: &str, help: &str, value: u64| {
        let metric = Counter::<u64>::default();
        metric.inc_by(value);
        registry.register(name, help, metric);
    };
    total(
        &mut registry,
        "rtmp_recordings",
        "Recordings started",
        recordings.started,
    );
    total(
        &mut registry,
        "rtmp_recording_errors",
        "Recordings stopped by an error",
        recordings.failed,
    );

    let publishing = Family::<StreamLabels, Gauge>::default();
    let players = Family::<StreamLabels, Gauge>::default();
    let uptime = Family::<StreamLabels, Gauge>::default();
    let bitrate = Family::<StreamLabels, Gauge>::default();
    let bytes_in = Family::<StreamLabels, Counter>::default();
    let bytes_out = Family::<StreamLabels, Counter>::default();
    let dropped = Family::<StreamLabels, Counter>::default();
    for stream in &stats.streams {
        let labels = StreamLabels {
            app: stream.key.app.clone(),
            stream: stream.key.name.clone(),
        };
        publishing
            .get_or_create(&labels)
            .set(i64::from(stream.uptime.is_some()));
        players.get_or_create(&labels).set(stream.players as i64);
        uptime
            .get_or_create(&labels)
            .set(stream.uptime.map_or(0, |uptime| uptime.as_secs() as i64));
        bitrate.get_or_create(&labels).set(stream.bitrate_in as i64);
        bytes_in.get_or_create(&labels).inc_by(stream.bytes_in);
        bytes_out.get_or_create(&labels).inc_by(stream.bytes_out);
        let drops: u64 = stats
            .connections
            .iter()
            .filter(|c| c.role == ConnectionRole::Player(stream.key.clone()))
            .map(|c| c.dropped_video)
            .sum();
        dropped.get_or_create(&labels).inc_by(drops);
    }
    registry.register(
        "rtmp_stream_publishing",
        "Whether the stream has a publisher",
        publishing,
    );
    registry.register("rtmp_stream_players", "Players of the stream", players);
    registry.register(
        "rtmp_stream_uptime_seconds",
        "How long its publisher has published",
        uptime,
    );
    registry.register(
        "rtmp_stream_bitrate_in_bits_per_second",
        "Media bits per second received over the last 5 s",
        bitrate,
    );
    registry.register(
        "rtmp_stream_received_bytes",
        "Media payload bytes received",
        bytes_in,
    );
    registry.register(
        "rtmp_stream_sent_bytes",
        "Media payload bytes sent to players",
        bytes_out,
    );
    registry.register(
        "rtmp_stream_dropped_video",
        "Video messages dropped for its congested players (those playing now)",
        dropped,
    );
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        tracing::warn!(%error, "encoding the metrics");
    }
    text
}

/// Streams and connections as JSON.
fn streams_json(stats: &RelayStats) -> String {
    let tracks = |tracks: &[(u8, String)]| {
        tracks
            .iter()
            .map(|(id, codec)| json!({ "id": id, "codec": codec }))
            .collect::<Vec<_>>()
    };
    let streams: Vec<_> = stats
        .streams
        .iter()
        .map(|stream| {
            json!({
                "app": stream.key.app,
                "name": stream.key.name,
                "publisher": stream.publisher,
                "uptime_seconds": stream.uptime.map(|uptime| uptime.as_secs_f64()),
                "video_tracks": tracks(&stream.media.video_tracks),
                "audio_tracks": tracks(&stream.media.audio_tracks),
                "width": stream.media.width,
                "height": stream.media.height,
                "frame_rate": stream.media.frame_rate,
                "bitrate_in": stream.bitrate_in,
                "bytes_in": stream.bytes_in,
                "bytes_out": stream.bytes_out,
                "players": stream.players,
            })
        })
        .collect();
    let connections: Vec<_> = stats
        .connections
        .iter()
        .map(|connection| {
            let (role, stream) = match &connection.role {
                ConnectionRole::Publisher(key) => ("publisher", Some(key.to_string())),
                ConnectionRole::Player(key) => ("player", Some(key.to_string())),
                _ => ("idle", None),
            };
            json!({
                "id": connection.id,
                "address": connection.peer,
                "role": role,
                "stream": stream,
                "bytes_in": connection.bytes_in,
                "bytes_out": connection.bytes_out,
                "rtt_ms": connection.round_trip.map(|rtt| rtt.as_secs_f64() * 1000.0),
                "queued_bytes": connection.queued_bytes,
                "dropped_video": connection.dropped_video,
            })
        })
        .collect();
    let document = json!({ "streams": streams, "connections": connections });
    format!("{document:#}\n")
}
