//! A publisher tells how many of its server's events it had to drop (rtmp-tokio's
//! `tests/api.rs` has the same test for its publisher).

use std::time::Duration;

use bytes::Bytes;
use rtmp_std::client::{Client, ClientOptions};
use rtmp_std::proto::session::client::ClientEvent;
use rtmp_std::proto::session::server::{ServerEvent, StatusLevel};
use rtmp_std::server::Server;
use rtmp_std::Error;

#[test]
fn a_publisher_says_how_many_events_it_dropped() {
    const SENT: usize = 300;
    let server = Server::bind("127.0.0.1:0").unwrap();
    let url = format!("rtmp://{}/live", server.local_addr().unwrap());
    let serving = std::thread::spawn(move || {
        let (mut session, _) = server.accept().unwrap();
        while let Ok(event) = session.next_event() {
            match event {
                ServerEvent::ConnectRequest(request) => session.accept_connect(request.id).unwrap(),
                ServerEvent::PublishRequest(request) => {
                    session.accept_publish(request.id).unwrap();
                    for index in 0..SENT {
                        let code = format!("Test.Status.{index}");
                        let _status = session
                            .send_status(request.stream, StatusLevel::Status, &code, "")
                            .unwrap();
                    }
                }
                _ => {}
            }
        }
    });

    let client = Client::connect_with(&url, ClientOptions::publisher()).unwrap();
    let mut publisher = client.publish("cam").unwrap();
    let keyframe = Bytes::from_static(&[0x17, 1, 0, 0, 0, 0]);
    let mut dropped = None;
    for index in 0..500u32 {
        let _status = publisher.send_video(index * 40, keyframe.clone()).unwrap();
        publisher.wait(Duration::from_millis(2)).unwrap();
        if index % 50 == 49 {
            match publisher.next_event() {
                Err(Error::EventsDropped { count }) => {
                    dropped = Some(count);
                    break;
                }
                Ok(Some(event)) => panic!("the backlog is read only once full: {event:?}"),
                other => assert!(matches!(other, Ok(None)), "{other:?}"),
            }
        }
    }
    let dropped = dropped.expect("past 256 events, the publisher says it dropped some");
    assert!(dropped >= (SENT - 256) as u64, "{dropped}");
    let mut kept = 0;
    let mut last_code = String::new();
    while let Some(event) = publisher.next_event().expect("no more dropped") {
        if let ClientEvent::Status { status, .. } = event {
            last_code = status.code;
        }
        kept += 1;
    }
    assert_eq!(kept, 256);
    assert_eq!(last_code, format!("Test.Status.{}", SENT - 1));
    publisher.close().unwrap();
    serving.join().unwrap();
}
