//! What the peer sends, in order: commands, data, media, and input held while a request
//! waits for the application (RTMP 1.0 §7.1, §7.2).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::held::held_size;
use super::{
    on_status, status_object, Blocker, CallId, CallOutcome, CallRequest, ConnectRequest, Held,
    PeerCall, Phase, PlayRequest, PlayStart, PublishRequest, PublishType, ServerConnection,
    ServerEvent, StatusLevel, StreamState,
};
use crate::amf::{Object, Value};
use crate::message::{split_aggregate, Command, Data, Message, UserControl};
use crate::session::core::{CoreEvent, Inbound};
use crate::session::{MediaKind, SessionError, Violation};
use crate::{type_id, RawMessage};

impl ServerConnection {
    /// Moves the core's events through the conversation, in order.
    #[inline]
    pub(super) fn pump(&mut self) {
        while let Some(event) = self.core.poll_event() {
            match event {
                CoreEvent::Closed(error) => {
                    self.blocker = None;
                    self.held.clear();
                    self.held_bytes = 0;
                    self.held_requests = 0;
                    self.peer_calls.clear();
                    self.our_calls.clear();
                    self.events.push_back(ServerEvent::Closed(error));
                }
                // Nothing follows Closed: the queue may still drain (a Writable) after it.
                CoreEvent::PingResponse { .. } | CoreEvent::Writable if self.core.is_closed() => {}
                _ if self.stopped => {}
                CoreEvent::HandshakeComplete => {
                    self.step_deadline = self
                        .options
                        .connect_timeout
                        .map(|timeout| (self.now + timeout, SessionError::ConnectTimeout));
                }
                CoreEvent::Message(inbound) => {
                    if self.blocker.is_some() {
                        self.hold(inbound);
                    } else {
                        self.dispatch(inbound);
                    }
                }
                CoreEvent::PingResponse { round_trip } => {
                    self.round_trip = Some(round_trip);
                    self.events
                        .push_back(ServerEvent::PingResponse { round_trip });
                }
                CoreEvent::Writable => self.events.push_back(ServerEvent::Writable),
            }
        }
    }

    fn hold(&mut self, inbound: Inbound) {
        let is_request = matches!(
            &inbound.message,
            Message::Command(command) if command.transaction_id != 0.0
        );
        if is_request && !self.admit_request() {
            return;
        }
        let size = held_size(&inbound.message);
        let total = self.held_bytes.saturating_add(size);
        if total > self.options.max_held_bytes {
            self.fail(SessionError::HeldInputFull {
                limit: self.options.max_held_bytes,
            });
            return;
        }
        // The server's memory budget counts held input too; past it, the connection ends
        // (SessionError::MemoryBudgetExceeded) and what it held goes.
        if self.core.hold_outside(total).is_err() {
            self.stopped = true;
            return;
        }
        self.held_bytes = total;
        self.held_requests += usize::from(is_request);
        self.held.push_back(Held {
            inbound,
            size,
            is_request,
        });
    }

    /// Processes held input until it runs out or a request blocks again.
    pub(super) fn resume(&mut self) {
        while self.blocker.is_none() && !self.core.is_closed() {
            let Some(held) = self.held.pop_front() else {
                break;
            };
            self.held_bytes = self.held_bytes.saturating_sub(held.size);
            self.held_requests = self
                .held_requests
                .saturating_sub(usize::from(held.is_request));
            self.dispatch(held.inbound);
        }
        // Gives back what was processed (never fails: nothing grew).
        let _ = self.core.hold_outside(self.held_bytes);
        self.pump();
    }

    fn dispatch(&mut self, inbound: Inbound) {
        let Inbound {
            timestamp,
            stream_id: stream,
            message,
        } = inbound;
        match message {
            Message::Command(command) => self.on_command(stream, command),
            Message::Data(data) => self.on_data(stream, timestamp, data),
            Message::Audio(payload) => self.on_media(stream, timestamp, type_id::AUDIO, payload),
            Message::Video(payload) => self.on_media(stream, timestamp, type_id::VIDEO, payload),
            Message::Aggregate(payload) => self.on_aggregate(stream, timestamp, payload),
            Message::UserControl(UserControl::SetBufferLength {
                stream_id,
                buffer_length,
            }) if self.phase == Phase::Connected => {
                self.events.push_back(ServerEvent::BufferLength {
                    stream: stream_id,
                    millis: buffer_length,
                });
            }
            Message::SharedObject(message) => {
                if self.phase == Phase::Connected {
                    self.events
                        .push_back(ServerEvent::SharedObject { stream, message });
                } else {
                    self.violation(Violation::SharedObjectBeforeConnect);
                }
            }
            // Other user control events (Stream Begin from a client, buffer notices, SWF
            // verification) and unknown message types carry nothing a server acts on.
            _ => {}
        }
    }

    fn on_command(&mut self, stream: u32, command: Command) {
        if command.name == "connect" {
            return self.on_connect(stream, command);
        }
        if self.phase != Phase::Connected {
            self.violation(Violation::CommandBeforeConnect {
                command: command.name.clone(),
            });
            return;
        }
        match command.name.as_str() {
            "createStream" => self.on_create_stream(stream, &command),
            "releaseStream" | "_checkbw" => self.answer_result(stream, &command, Vec::new()),
            "getStreamLength" => self.answer_result(stream, &command, vec![Value::Number(0.0)]),
            "FCPublish" => {
                self.answer_result(stream, &command, Vec::new());
                self.notify_fc(stream, &command, "onFCPublish", "NetStream.Publish.Start");
            }
            "FCUnpublish" => self.on_fc_unpublish(stream, &command),
            "FCSubscribe" => {
                self.answer_result(stream, &command, Vec::new());
                self.notify_fc(stream, &command, "onFCSubscribe", "NetStream.Play.Start");
            }
            "FCUnsubscribe" => self.answer_result(stream, &command, Vec::new()),
            "deleteStream" => {
                if let Some(id) = command.argument(0).and_then(stream_id) {
                    self.delete_stream(id);
                }
            }
            "closeStream" => self.close_stream(stream),
            "publish" => self.on_publish(stream, command),
            "play" => self.on_play(stream, command),
            "play2" | "pause" | "seek" | "receiveAudio" | "receiveVideo" => {
                self.on_stream_control(stream, command)
            }
            Command::RESULT | Command::ERROR => self.on_call_result(command),
            _ => self.on_unknown_command(stream, command),
        }
    }

    fn on_connect(&mut self, stream: u32, command: Command) {
        if self.phase != Phase::AwaitingConnect {
            self.violation(Violation::SecondConnect);
            return;
        }
        if !self.admit_request() {
            return;
        }
        let text = |key: &str| {
            command
                .command_object_property(key)
                .and_then(Value::as_str)
                .map(String::from)
        };
        let (app, tc_url, flash_ver) = (text("app"), text("tcUrl"), text("flashVer"));
        let (swf_url, page_url) = (text("swfUrl"), text("pageUrl"));
        let fourcc_list = command
            .command_object_property("fourCcList")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect::<Vec<_>>()
            });
        // `as` saturates: a capsEx that is negative, huge or NaN offers nothing usable anyway.
        let caps_ex = command
            .command_object_property("capsEx")
            .and_then(Value::as_f64)
            .map(|bits| bits as u32);
        let object_encoding = command
            .command_object_property("objectEncoding")
            .and_then(Value::as_f64);
        let enhanced = self.enhanced_answer(&command, fourcc_list.as_deref(), caps_ex);
        let id = self.new_request_id();
        self.blocker = Some(Blocker::Connect {
            id,
            stream,
            transaction_id: command.transaction_id,
            encoding: command.encoding,
            object_encoding: object_encoding.unwrap_or(0.0),
            enhanced,
        });
        self.phase = Phase::Connecting;
        self.step_deadline = None;
        self.events
            .push_back(ServerEvent::ConnectRequest(Box::new(ConnectRequest {
                id,
                app: app.unwrap_or_default(),
                tc_url,
                flash_ver,
                swf_url,
                page_url,
                object_encoding,
                fourcc_list,
                caps_ex,
                command_object: command.command_object,
                arguments: command.arguments,
            })));
    }

    /// The Enhanced RTMP properties of the connect answer: what the client offered that this
    /// server supports.
    fn enhanced_answer(
        &self,
        command: &Command,
        fourcc_list: Option<&[String]>,
        caps_ex: Option<u32>,
    ) -> Vec<(String, Value)> {
        let supported = self.options.supported_fourccs.as_deref();
        let keep = |fourcc: &str| supported.is_none_or(|list| list.iter().any(|s| s == fourcc));
        let mut answer = Vec::new();
        if let Some(list) = fourcc_list {
            let wildcard = list.iter().any(|fourcc| fourcc == "*");
            let items: Vec<Value> = match supported {
                Some(ours) if wildcard => ours.iter().map(|s| Value::from(s.as_str())).collect(),
                _ => list
                    .iter()
                    .filter(|fourcc| keep(fourcc))
                    .map(|s| Value::from(s.as_str()))
                    .collect(),
            };
            answer.push((String::from("fourCcList"), Value::StrictArray(items)));
        }
        for key in ["videoFourCcInfoMap", "audioFourCcInfoMap"] {
            let Some(map) = command.command_object_property(key) else {
                continue;
            };
            let entries: &[(String, Value)] = match map {
                Value::Object(object) => &object.properties,
                Value::EcmaArray(entries) => entries,
                _ => continue,
            };
            let mut ours = Object::new();
            for (fourcc, _) in entries {
                match supported {
                    Some(list) if fourcc == "*" => {
                        for supported in list {
                            ours.insert(supported.as_str(), self.options.fourcc_capabilities);
                        }
                    }
                    _ if keep(fourcc) => {
                        ours.insert(fourcc.as_str(), self.options.fourcc_capabilities);
                    }
                    _ => {}
                }
            }
            answer.push((String::from(key), Value::Object(ours)));
        }
        if let Some(caps_ex) = caps_ex {
            answer.push((
                String::from("capsEx"),
                Value::from(caps_ex & self.options.caps_ex),
            ));
        }
        answer
    }

    fn on_create_stream(&mut self, stream: u32, command: &Command) {
        let free = (1..=u32::MAX)
            .take(self.core.config.max_message_streams)
            .find(|id| !self.streams.contains_key(id));
        match free {
            Some(id) => {
                self.streams.insert(id, StreamState::Idle);
                self.send_command(
                    stream,
                    Command::result(command.transaction_id, Value::Null, vec![Value::from(id)])
                        .with_encoding(command.encoding),
                );
            }
            None => {
                let information = status_object(
                    StatusLevel::Error,
                    "NetConnection.Call.Failed",
                    "Too many streams on this connection.",
                );
                self.send_command(
                    stream,
                    Command::error(
                        command.transaction_id,
                        Value::Null,
                        vec![Value::Object(information)],
                    )
                    .with_encoding(command.encoding),
                );
            }
        }
    }

    /// `_result(tid, null, ...)`, unless the command expects no answer (transaction id 0).
    fn answer_result(&mut self, stream: u32, command: &Command, arguments: Vec<Value>) {
        if command.transaction_id != 0.0 {
            let answer = Command::result(command.transaction_id, Value::Null, arguments)
                .with_encoding(command.encoding);
            self.send_command(stream, answer);
        }
    }

    /// onFCPublish, onFCUnpublish, onFCSubscribe: FMS's notifications naming the stream.
    fn notify_fc(&mut self, stream: u32, command: &Command, name: &str, code: &str) {
        let stream_name = command
            .argument(0)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let information = status_object(StatusLevel::Status, code, stream_name);
        let notification = Command::new(name, 0.0, Value::Null, vec![Value::Object(information)])
            .with_encoding(command.encoding);
        self.send_command(stream, notification);
    }

    fn on_fc_unpublish(&mut self, stream: u32, command: &Command) {
        self.answer_result(stream, command, Vec::new());
        self.notify_fc(
            stream,
            command,
            "onFCUnpublish",
            "NetStream.Unpublish.Success",
        );
        let Some(name) = command.argument(0).and_then(Value::as_str) else {
            return;
        };
        let publishing = self.streams.iter().find_map(|(id, state)| match state {
            StreamState::Publishing { name: published }
                if published == name || base_name(published) == base_name(name) =>
            {
                Some(*id)
            }
            _ => None,
        });
        if let Some(publishing) = publishing {
            self.events.push_back(ServerEvent::UnpublishRequest {
                stream: publishing,
                name: String::from(name),
            });
        }
    }

    /// closeStream (RTMP 1.0 §7.2.2.3 of the errata): the stream stops what it did and stays.
    fn close_stream(&mut self, stream: u32) {
        let Some(state) = self.streams.set_idle(stream) else {
            return;
        };
        match state {
            StreamState::Publishing { name } => {
                let information = status_object(
                    StatusLevel::Status,
                    "NetStream.Unpublish.Success",
                    &format!("{name} is now unpublished."),
                )
                .with("details", name.as_str());
                self.send_command(stream, on_status(information, self.encoding));
                self.events.push_back(ServerEvent::Unpublished { stream });
            }
            StreamState::Playing { .. } => {
                self.events.push_back(ServerEvent::PlayStopped { stream });
            }
            StreamState::Idle | StreamState::PublishRefused => {}
        }
    }

    /// deleteStream (RTMP 1.0 §7.2.2.3): a stream that does not exist is ignored, as the
    /// client cannot expect an answer.
    fn delete_stream(&mut self, stream: u32) {
        if !self.streams.contains_key(&stream) {
            return;
        }
        self.close_stream(stream);
        self.streams.remove(&stream);
        self.events.push_back(ServerEvent::StreamDeleted { stream });
    }

    /// The state of a message stream a stream command arrived on; a stream that was never
    /// created is a protocol violation.
    fn command_stream(&mut self, stream: u32, command: &str) -> Option<StreamState> {
        match self.streams.get(&stream) {
            Some(state) => Some(state.clone()),
            None => {
                self.violation(Violation::UnknownStream {
                    command: String::from(command),
                    stream,
                });
                None
            }
        }
    }

    fn on_publish(&mut self, stream: u32, command: Command) {
        let Some(state) = self.command_stream(stream, "publish") else {
            return;
        };
        let encoding = command.encoding;
        let refuse =
            |reason: &str| status_object(StatusLevel::Error, "NetStream.Publish.BadName", reason);
        if !matches!(state, StreamState::Idle | StreamState::PublishRefused) {
            let information = refuse("The stream is already publishing or playing.");
            return self.send_command(stream, on_status(information, encoding));
        }
        let Some(name) = command.argument(0).and_then(Value::as_str) else {
            let information = refuse("No stream name.");
            return self.send_command(stream, on_status(information, encoding));
        };
        if !self.admit_request() {
            return;
        }
        let publish_type = match command.argument(1).and_then(Value::as_str) {
            Some("record") => PublishType::Record,
            Some("append") => PublishType::Append,
            Some("appendWithGap") => PublishType::AppendWithGap,
            _ => PublishType::Live,
        };
        let id = self.new_request_id();
        let name = String::from(name);
        self.step_deadline = None;
        self.blocker = Some(Blocker::Publish {
            id,
            stream,
            name: name.clone(),
            encoding,
        });
        self.events
            .push_back(ServerEvent::PublishRequest(PublishRequest {
                id,
                stream,
                name,
                publish_type,
            }));
    }

    fn on_play(&mut self, stream: u32, command: Command) {
        let Some(state) = self.command_stream(stream, "play") else {
            return;
        };
        let encoding = command.encoding;
        let failed =
            |reason: &str| status_object(StatusLevel::Error, "NetStream.Play.Failed", reason);
        if matches!(state, StreamState::Publishing { .. }) {
            let information = failed("The stream is publishing.");
            return self.send_command(stream, on_status(information, encoding));
        }
        let Some(name) = command.argument(0).and_then(Value::as_str) else {
            let information = failed("No stream name.");
            return self.send_command(stream, on_status(information, encoding));
        };
        if !self.admit_request() {
            return;
        }
        let start = match command.argument(1).and_then(Value::as_f64) {
            Some(start) if start >= 0.0 => PlayStart::At(start),
            Some(start) if start == -1.0 || start == -1000.0 => PlayStart::LiveOnly,
            _ => PlayStart::LiveOrRecorded,
        };
        let duration = command
            .argument(2)
            .and_then(Value::as_f64)
            .filter(|duration| *duration >= 0.0);
        let reset = match command.argument(3) {
            Some(Value::Boolean(reset)) => *reset,
            Some(value) => value.as_f64().is_none_or(|flags| flags != 0.0),
            None => true,
        };
        let id = self.new_request_id();
        let name = String::from(name);
        self.step_deadline = None;
        self.blocker = Some(Blocker::Play {
            id,
            stream,
            name: name.clone(),
            reset,
            encoding,
        });
        self.events.push_back(ServerEvent::PlayRequest(PlayRequest {
            id,
            stream,
            name,
            start,
            duration,
            reset,
        }));
    }

    /// play2, pause, seek, receiveAudio, receiveVideo.
    fn on_stream_control(&mut self, stream: u32, command: Command) {
        let Some(state) = self.command_stream(stream, &command.name) else {
            return;
        };
        let name = match &state {
            StreamState::Playing { name } | StreamState::Publishing { name } => name.as_str(),
            StreamState::Idle | StreamState::PublishRefused => "",
        };
        let flag = |value: Option<&Value>| match value {
            Some(Value::Boolean(flag)) => *flag,
            Some(value) => value.as_f64().is_none_or(|number| number != 0.0),
            None => true,
        };
        let number = |value: Option<&Value>| value.and_then(Value::as_f64).unwrap_or(0.0);
        let event = match command.name.as_str() {
            "play2" => ServerEvent::Play2 {
                stream,
                parameters: command.arguments.into_iter().next().unwrap_or(Value::Null),
            },
            "pause" => {
                let pause = flag(command.argument(0));
                let position = number(command.argument(1));
                let (code, verb) = if pause {
                    ("NetStream.Pause.Notify", "Pausing")
                } else {
                    ("NetStream.Unpause.Notify", "Unpausing")
                };
                let information =
                    status_object(StatusLevel::Status, code, &format!("{verb} {name}."))
                        .with("details", name);
                self.send_command(stream, on_status(information, command.encoding));
                ServerEvent::Pause {
                    stream,
                    pause,
                    position,
                }
            }
            "seek" => {
                let position = number(command.argument(0));
                let information = status_object(
                    StatusLevel::Status,
                    "NetStream.Seek.Notify",
                    &format!("Seeking {position} (stream ID: {stream})."),
                )
                .with("details", name);
                self.send_command(stream, on_status(information, command.encoding));
                ServerEvent::Seek { stream, position }
            }
            "receiveAudio" => ServerEvent::ReceiveAudio {
                stream,
                enabled: flag(command.argument(0)),
            },
            _ => ServerEvent::ReceiveVideo {
                stream,
                enabled: flag(command.argument(0)),
            },
        };
        self.events.push_back(event);
    }

    fn on_call_result(&mut self, command: Command) {
        let outcome = if command.name == Command::RESULT {
            CallOutcome::Result
        } else {
            CallOutcome::Error
        };
        // Answers to calls we did not make (or already forgot) are ignored.
        let Some(transaction) = integral_u32(command.transaction_id) else {
            return;
        };
        if self.our_calls.remove(&transaction) {
            self.events.push_back(ServerEvent::CallResult {
                call: CallId(transaction),
                outcome,
                command_object: command.command_object,
                arguments: command.arguments,
            });
        }
    }

    fn on_unknown_command(&mut self, stream: u32, command: Command) {
        let mut id = None;
        if command.transaction_id != 0.0 {
            let call = PeerCall {
                stream,
                transaction_id: command.transaction_id,
                encoding: command.encoding,
                deadline: self.now,
            };
            match self.options.call_answer_timeout {
                None => self.answer_call_failed(&call, "Method not found."),
                Some(timeout) => {
                    if !self.admit_request() {
                        return;
                    }
                    let request = self.new_request_id();
                    self.peer_calls.insert(
                        request,
                        PeerCall {
                            deadline: self.now + timeout,
                            ..call
                        },
                    );
                    id = Some(request);
                }
            }
        }
        self.events.push_back(ServerEvent::Call(CallRequest {
            id,
            stream,
            name: command.name,
            transaction_id: command.transaction_id,
            command_object: command.command_object,
            arguments: command.arguments,
        }));
    }

    pub(super) fn answer_call_failed(&mut self, call: &PeerCall, description: &str) {
        let information =
            status_object(StatusLevel::Error, "NetConnection.Call.Failed", description);
        let answer = Command::error(
            call.transaction_id,
            Value::Null,
            vec![Value::Object(information)],
        )
        .with_encoding(call.encoding);
        self.send_command(call.stream, answer);
    }

    fn on_data(&mut self, stream: u32, timestamp: u32, data: Data) {
        match self.streams.get(&stream) {
            Some(StreamState::PublishRefused) => return,
            Some(_) => {}
            None if stream == 0 && self.phase == Phase::Connected => {}
            None => {
                self.violation(Violation::DataOnUnknownStream { stream });
                return;
            }
        }
        let event = match into_metadata(data) {
            Ok(metadata) => ServerEvent::Metadata {
                stream,
                timestamp,
                metadata,
            },
            Err(data) => ServerEvent::Data {
                stream,
                timestamp,
                data,
            },
        };
        self.events.push_back(event);
    }

    fn on_media(&mut self, stream: u32, timestamp: u32, kind: u8, payload: Bytes) {
        if !self.streams.is_publishing(stream) {
            if !matches!(self.streams.get(&stream), Some(StreamState::PublishRefused)) {
                let kind = if kind == type_id::AUDIO {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                self.violation(Violation::MediaWithoutPublish { kind, stream });
            }
            return;
        }
        // No FLV tag header: nothing a player could decode or a recorder write. Dropped here, a
        // flood of them costs nothing further on.
        if payload.is_empty() {
            return;
        }
        let event = if kind == type_id::AUDIO {
            ServerEvent::Audio {
                stream,
                timestamp,
                payload,
            }
        } else {
            ServerEvent::Video {
                stream,
                timestamp,
                payload,
            }
        };
        self.events.push_back(event);
    }

    /// An aggregate (RTMP 1.0 §7.1.6) is delivered as its sub-messages.
    fn on_aggregate(&mut self, stream: u32, timestamp: u32, payload: Bytes) {
        match self.streams.get(&stream) {
            Some(StreamState::Publishing { .. }) => {}
            Some(StreamState::PublishRefused) => return,
            _ => {
                self.violation(Violation::MediaWithoutPublish {
                    kind: MediaKind::Aggregate,
                    stream,
                });
                return;
            }
        }
        let aggregate = RawMessage {
            timestamp,
            type_id: type_id::AGGREGATE,
            stream_id: stream,
            payload,
        };
        let limits = self.core.config.limits.clone();
        for sub in split_aggregate(&aggregate, &limits) {
            let sub = match sub {
                Ok(sub) => sub,
                Err(error) => {
                    self.fail(error.into());
                    return;
                }
            };
            match sub.type_id {
                type_id::AUDIO | type_id::VIDEO => {
                    self.on_media(stream, sub.timestamp, sub.type_id, sub.payload)
                }
                type_id::DATA_AMF0 | type_id::DATA_AMF3 => match Message::decode(&sub, &limits) {
                    Ok(Message::Data(data)) => self.on_data(stream, sub.timestamp, data),
                    Ok(_) => {}
                    Err(error) => {
                        self.fail(error.into());
                        return;
                    }
                },
                // FLV files, where aggregates come from, hold nothing else worth a server's
                // attention.
                _ => {}
            }
        }
    }
}

/// `m` of `@setDataFrame("onMetaData", m)` or `onMetaData(m)`, or the message unchanged.
fn into_metadata(data: Data) -> Result<Value, Data> {
    if data.metadata().is_none() {
        return Err(data);
    }
    let skip = if data.is_set_data_frame() { 2 } else { 1 };
    let mut values = data.values.into_iter().skip(skip);
    Ok(values.next().unwrap_or(Value::Null))
}

/// A message stream id sent as an AMF number.
fn stream_id(value: &Value) -> Option<u32> {
    value.as_f64().and_then(integral_u32)
}

fn integral_u32(number: f64) -> Option<u32> {
    let in_range = number >= 0.0 && number <= f64::from(u32::MAX);
    // `as` truncates towards zero (and `trunc` needs std): integral when it converts back.
    let truncated = number as u32;
    (in_range && f64::from(truncated) == number).then_some(truncated)
}

/// A stream name without its query string.
fn base_name(name: &str) -> &str {
    name.split('?').next().unwrap_or(name)
}
