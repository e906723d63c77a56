//! Records a stream to an FLV file, until the stream ends or Ctrl-C.
//!
//! ```text
//! cargo run -p rtmp-tokio --example record -- rtmp://127.0.0.1/live/cam1 out.flv
//! ```

use rtmp_proto::url::RtmpUrl;
use rtmp_tokio::client::{Client, Frame};
use rtmp_tokio::flv::FlvRecorder;
use rtmp_tokio::proto as rtmp_proto;
use rtmp_tokio::Error;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, path] = args.as_slice() else {
        eprintln!("usage: record rtmp://HOST[:PORT]/APP/NAME OUT.flv");
        std::process::exit(2);
    };
    let parsed = RtmpUrl::parse(url)?;
    let name = parsed.stream.clone().ok_or("the URL names no stream")?;
    let app_url = format!("rtmp://{}/{}", parsed.authority(), parsed.app);

    let mut player = Client::connect(&app_url).await?.play(&name).await?;
    let file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await?);
    let mut recorder = FlvRecorder::new(file).await?;
    let mut frames = 0usize;
    loop {
        let next = tokio::select! {
            next = player.next_frame() => next,
            _ = tokio::signal::ctrl_c() => break,
        };
        match next {
            Ok(Some(frame @ (Frame::Audio { .. } | Frame::Video { .. } | Frame::Metadata(_)))) => {
                recorder.write(&frame).await?;
                frames += 1;
            }
            Ok(Some(_)) => {}
            // The server closing the connection ends a recording too.
            Ok(None) | Err(Error::PeerClosed) => break,
            Err(error) => return Err(error.into()),
        }
    }
    recorder.finish().await?;
    eprintln!("recorded {frames} frames to {path}");
    Ok(())
}
