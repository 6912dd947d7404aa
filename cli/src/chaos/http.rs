//! A blocking JSON client with short timeouts: a paused node must cost the harness a
//! second, not the minute the CLI's own client waits.

use std::time::Duration;

use serde_json::Value;

/// How long one request may take before the node counts as unresponsive.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One node's API.
#[derive(Clone)]
pub(crate) struct Api {
    base: String,
    http: reqwest::blocking::Client,
}

/// What a request gave: a JSON answer with its status, or no answer.
pub(crate) type Answer = Result<(u16, Value), String>;

impl Api {
    /// A client for `base` (`http://127.0.0.1:PORT`).
    pub(crate) fn new(base: String) -> Result<Api, String> {
        let http = reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Api { base, http })
    }

    /// `GET path`.
    pub(crate) fn get(&self, path: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().map_err(|e| e.to_string())?))
    }

    /// `GET path`, only a 200 answer.
    pub(crate) fn get_ok(&self, path: &str) -> Option<Value> {
        match self.get(path) {
            Ok((200, v)) => Some(v),
            _ => None,
        }
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &Value) -> Answer {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().map_err(|e| e.to_string())?))
    }

    /// The head height from `/v1/status`.
    pub(crate) fn height(&self) -> Option<u64> {
        self.get_ok("/v1/status")?.get("height")?.as_u64()
    }
}
