//! Publishes an FLV file to a server, paced in real time (like `ffmpeg -re`).
//!
//! ```text
//! cargo run -p rtmp-tokio --example publish -- clip.flv rtmp://127.0.0.1/live/cam1 [--fast]
//! ```

use rtmp_proto::url::RtmpUrl;
use rtmp_tokio::client::{Client, ClientOptions};
use rtmp_tokio::flv::publish_flv;
use rtmp_tokio::proto as rtmp_proto;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, url, real_time) = match args.as_slice() {
        [path, url] => (path, url, true),
        [path, url, fast] if fast == "--fast" => (path, url, false),
        _ => {
            eprintln!("usage: publish FILE.flv rtmp://HOST[:PORT]/APP/NAME [--fast]");
            std::process::exit(2);
        }
    };
    let parsed = RtmpUrl::parse(url)?;
    let name = parsed.stream.clone().ok_or("the URL names no stream")?;
    let app_url = format!("rtmp://{}/{}", parsed.authority(), parsed.app);

    let mut file = tokio::fs::File::open(path).await?;
    let client = Client::connect_with(&app_url, ClientOptions::publisher()).await?;
    let mut publisher = client.publish(&name).await?;
    let counts = publish_flv(&mut file, &mut publisher, real_time).await?;
    publisher.close().await?;
    eprintln!(
        "published {} video, {} audio and {} data tags to {url}",
        counts.video, counts.audio, counts.data
    );
    Ok(())
}
