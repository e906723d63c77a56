//! The server's access policy: publish keys, play address prefixes and HTTP callbacks in the
//! manner of nginx-rtmp's `on_publish` / `on_play`. The relay core parks each publish and play
//! until [`Policy::decide`] answers; this is only the policy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rtmp_tokio::proto::relay::{Access, AccessKind, AccessRequest};

/// How long a callback may take before the request is refused.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(3);

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Who may publish and play.
pub struct Policy {
    publish_keys: Vec<String>,
    allow_play: Vec<String>,
    deny_play: Vec<String>,
    on_publish: Option<hyper::Uri>,
    on_play: Option<hyper::Uri>,
    client: HttpClient,
}

impl Policy {
    /// The policy of the settings; `None` when they allow everything.
    pub fn new(settings: &crate::cli::Settings) -> Result<Option<Arc<Policy>>, String> {
        let uri = |flag: &str, url: &Option<String>| -> Result<Option<hyper::Uri>, String> {
            url.as_deref()
                .map(|url| {
                    let uri: hyper::Uri = url
                        .parse()
                        .map_err(|error| format!("{flag}: {url:?} is not a URL: {error}"))?;
                    if uri.scheme_str() != Some("http") {
                        return Err(format!("{flag}: {url:?} is not an http:// URL"));
                    }
                    Ok(uri)
                })
                .transpose()
        };
        let policy = Policy {
            publish_keys: settings.publish_key.clone(),
            allow_play: settings.allow_play.clone(),
            deny_play: settings.deny_play.clone(),
            on_publish: uri("--on-publish", &settings.on_publish)?,
            on_play: uri("--on-play", &settings.on_play)?,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let open = policy.publish_keys.is_empty()
            && policy.allow_play.is_empty()
            && policy.deny_play.is_empty()
            && policy.on_publish.is_none()
            && policy.on_play.is_none();
        Ok((!open).then(|| Arc::new(policy)))
    }

    /// The answer to `request` of the client at `peer`.
    pub async fn decide(&self, request: AccessRequest, peer: Option<SocketAddr>) -> Access {
        let refusal = match request.kind {
            AccessKind::Connect => None,
            AccessKind::Publish => self.publish_refusal(&request),
            AccessKind::Play => self.play_refusal(peer),
        };
        if let Some(reason) = refusal {
            return Access::Refuse(reason);
        }
        let callback = match request.kind {
            AccessKind::Connect => None,
            AccessKind::Publish => self.on_publish.as_ref(),
            AccessKind::Play => self.on_play.as_ref(),
        };
        match callback {
            Some(url) => self.call_back(url, &request, peer).await,
            None => Access::Allow,
        }
    }

    /// A publish must carry one of the keys as `?key=KEY` (compared as sent, undecoded).
    fn publish_refusal(&self, request: &AccessRequest) -> Option<String> {
        if self.publish_keys.is_empty() {
            return None;
        }
        let known = request.carries_key(&self.publish_keys);
        (!known).then(|| String::from("A valid ?key= is needed to publish."))
    }

    fn play_refusal(&self, peer: Option<SocketAddr>) -> Option<String> {
        if self.allow_play.is_empty() && self.deny_play.is_empty() {
            return None;
        }
        let address = peer.map(|peer| peer.ip().to_string()).unwrap_or_default();
        let matches =
            |prefixes: &[String]| prefixes.iter().any(|p| address.starts_with(p.as_str()));
        if matches(&self.deny_play) || (!self.allow_play.is_empty() && !matches(&self.allow_play)) {
            Some(String::from("Playing is not allowed from this address."))
        } else {
            None
        }
    }

    /// POSTs `call, app, name, args, addr, tcurl, flashver` form-encoded to `url`.
    async fn call_back(
        &self,
        url: &hyper::Uri,
        request: &AccessRequest,
        peer: Option<SocketAddr>,
    ) -> Access {
        let call = match request.kind {
            AccessKind::Play => "play",
            _ => "publish",
        };
        let address = peer.map(|peer| peer.ip().to_string()).unwrap_or_default();
        let fields = [
            ("call", call),
            ("app", &request.app),
            ("name", &request.name),
            ("args", request.query.as_deref().unwrap_or("")),
            ("addr", &address),
            ("tcurl", request.tc_url.as_deref().unwrap_or("")),
            ("flashver", request.flash_ver.as_deref().unwrap_or("")),
        ];
        let body = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let post = hyper::Request::post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)));
        let post = match post {
            Ok(post) => post,
            Err(error) => return refuse(url, &error.to_string()),
        };
        let answered = tokio::time::timeout(CALLBACK_TIMEOUT, async {
            let response = self.client.request(post).await?;
            let status = response.status();
            // Read the (small) body so the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok::<_, hyper_util::client::legacy::Error>(status)
        })
        .await;
        match answered {
            Ok(Ok(status)) if status.is_success() => Access::Allow,
            Ok(Ok(status)) => refuse(url, &format!("answered {status}")),
            Ok(Err(error)) => refuse(url, &error.to_string()),
            Err(_) => refuse(url, "no answer in 3 s"),
        }
    }
}

fn refuse(url: &hyper::Uri, why: &str) -> Access {
    tracing::info!(%url, why, "callback refused");
    Access::Refuse(String::from("Refused by the server's callback."))
}

/// `application/x-www-form-urlencoded`: unreserved bytes as they are, a space as `+`, the
/// rest `%XX`.
fn form_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(char::from(byte))
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_what_it_must() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
