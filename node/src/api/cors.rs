//! Cross-origin requests from browsers (CORS): which origins may call the API, the
//! answer to a preflight, and the headers added to every answer for an allowed origin.
//!
//! Written here rather than with tower-http's `CorsLayer` for two answers it does not
//! give: a preflight is answered 204 (tower-http answers 200), and a preflight from an
//! origin the node does not allow gets our JSON error (403 `origin_not_allowed`) that
//! names the flag to set, instead of an empty 200 a developer cannot read.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::types::ErrorCode;
use super::ApiError;

/// How long a browser may cache a preflight's answer.
pub const CORS_MAX_AGE_SECS: u32 = 600;
/// The most origins a node may list.
pub const CORS_ORIGINS_MAX: usize = 64;
/// The longest origin accepted (scheme, host and port).
const CORS_ORIGIN_BYTES_MAX: usize = 256;

/// The browser origins allowed to call the API (`--cors-origin`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin requests (the default of `jeon node`).
    #[default]
    Off,
    /// Any origin (`*`; the default of `jeon dev`).
    Any,
    /// Exactly these origins (`https://wallet.example`, `http://localhost:5173`).
    List(Arc<[String]>),
}

/// Why an origin list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsError {
    /// An origin is not `scheme://host[:port]`.
    #[error(
        "cors origin {0:?} is not an origin: give scheme://host[:port] with no path, e.g. \
         https://wallet.example or http://localhost:5173, or * for any origin"
    )]
    BadOrigin(String),
    /// More than [`CORS_ORIGINS_MAX`] origins.
    #[error("{0} cors origins: at most {CORS_ORIGINS_MAX}")]
    TooMany(usize),
}

impl CorsOrigins {
    /// The policy for `origins`, each `*` or `scheme://host[:port]` (a trailing `/` is
    /// dropped; items may also be comma-separated): none is [`CorsOrigins::Off`], any
    /// `*` is [`CorsOrigins::Any`].
    pub fn parse<S: AsRef<str>>(origins: &[S]) -> Result<CorsOrigins, CorsError> {
        let mut list: Vec<String> = Vec::new();
        let mut any = false;
        let items = origins.iter().flat_map(|o| o.as_ref().split(','));
        for item in items.map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                any = true;
                continue;
            }
            let origin = normalize(item).ok_or_else(|| CorsError::BadOrigin(item.into()))?;
            if !list.contains(&origin) {
                list.push(origin);
            }
        }
        if list.len() > CORS_ORIGINS_MAX {
            return Err(CorsError::TooMany(list.len()));
        }
        Ok(if any {
            CorsOrigins::Any
        } else if list.is_empty() {
            CorsOrigins::Off
        } else {
            CorsOrigins::List(list.into())
        })
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, or `None`
    /// if that origin is not allowed.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match self {
            CorsOrigins::Off => None,
            CorsOrigins::Any => Some(HeaderValue::from_static("*")),
            CorsOrigins::List(list) => {
                let origin_text = origin.to_str().ok()?;
                list.iter()
                    .any(|o| o.eq_ignore_ascii_case(origin_text))
                    .then(|| origin.clone())
            }
        }
    }
}

/// `scheme://host[:port]` in lower case, or `None` if `s` is not an origin.
fn normalize(s: &str) -> Option<String> {
    let s = s.strip_suffix('/').unwrap_or(s).to_ascii_lowercase();
    let (scheme, rest) = s.split_once("://")?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let rest_ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c));
    (scheme_ok && rest_ok && s.len() <= CORS_ORIGIN_BYTES_MAX).then_some(s)
}

/// The CORS middleware: answers preflights itself and adds the allow headers to every
/// other answer for an allowed origin. Requests from other origins are served as
/// before but carry no allow header, so a browser keeps their answers from the page.
pub(super) async fn cors(
    State(origins): State<Arc<CorsOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let allowed = origins.allow(&origin);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        return match allowed {
            Some(allow) => preflight_answer(allow, &request),
            None => refused(&origins, &origin).into_response(),
        };
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(allow) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
    response
}

/// 204 with what the browser asked to use: any method of ours, the headers it asked
/// for, cached for [`CORS_MAX_AGE_SECS`].
fn preflight_answer(allow: HeaderValue, request: &Request) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    if let Some(asked) = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(CORS_MAX_AGE_SECS),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static(
            "origin, access-control-request-method, access-control-request-headers",
        ),
    );
    response
}

fn refused(origins: &CorsOrigins, origin: &HeaderValue) -> ApiError {
    let origin = String::from_utf8_lossy(origin.as_bytes());
    let msg = match origins {
        CorsOrigins::Off => format!(
            "this node allows no cross-origin requests (from {origin}); its operator can \
             allow origins with --cors-origin ORIGIN (config key cors_origins)"
        ),
        _ => format!("origin {origin} is not in this node's --cors-origin list"),
    };
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OriginNotAllowed, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_to_off_any_or_a_normalized_list() {
        let none: [&str; 0] = [];
        assert_eq!(CorsOrigins::parse(&none), Ok(CorsOrigins::Off));
        assert_eq!(
            CorsOrigins::parse(&["https://a.example", "*"]),
            Ok(CorsOrigins::Any)
        );
        assert_eq!(
            CorsOrigins::parse(&[
                "HTTPS://Wallet.Example/, http://localhost:5173",
                "https://wallet.example"
            ]),
            Ok(CorsOrigins::List(
                vec![
                    "https://wallet.example".to_string(),
                    "http://localhost:5173".to_string()
                ]
                .into()
            ))
        );
    }

    #[test]
    fn a_path_or_a_bare_host_is_not_an_origin() {
        for bad in [
            "wallet.example",
            "https://wallet.example/pay",
            "https://",
            "https://a b",
        ] {
            assert_eq!(
                CorsOrigins::parse(&[bad]),
                Err(CorsError::BadOrigin(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_listed_origin_is_echoed_and_others_get_nothing() {
        let list = CorsOrigins::parse(&["https://wallet.example"]).expect("valid");
        let ok = HeaderValue::from_static("https://wallet.example");
        assert_eq!(list.allow(&ok), Some(ok.clone()));
        assert_eq!(
            list.allow(&HeaderValue::from_static("https://evil.example")),
            None
        );
        assert_eq!(CorsOrigins::Off.allow(&ok), None);
        assert_eq!(
            CorsOrigins::Any.allow(&ok),
            Some(HeaderValue::from_static("*"))
        );
    }
}
