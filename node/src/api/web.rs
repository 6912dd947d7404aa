//! The web app (explorer, wallet, partner dashboard, network page) served at `/`.
//!
//! Its bundle is built from `web/` by `web/build.sh` into `web/dist/` (committed, with
//! fixed file names) and embedded here, so the binary serves it with no extra step.
//! Each file is embedded twice: as built and gzip-compressed at build time (level 9),
//! so serving costs no CPU; a client that does not accept gzip gets the plain bytes.
//! Answers carry an `ETag` (a hash of the bytes) and `Cache-Control: no-cache`: a
//! browser keeps the files and revalidates them with one `304 Not Modified`, and a node
//! of a new version is never shown with an old bundle. `GET /genesis.json` is the
//! genesis the node runs, for the page's proof verification (the page pins the chain
//! id it first saw and accepts another genesis file from the user; docs/api.md, "Web
//! app").
//!
//! On by default in `jeon dev`; `jeon node --web` or `web = true` in the config file.

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: its bytes, their gzip, content type and entity tag.
struct Asset {
    plain: &'static [u8],
    gzip: &'static [u8],
    content_type: &'static str,
}

const INDEX: Asset = Asset {
    plain: include_bytes!("../../../web/dist/index.html"),
    gzip: include_bytes!("../../../web/dist/index.html.gz"),
    content_type: "text/html; charset=utf-8",
};
const APP_JS: Asset = Asset {
    plain: include_bytes!("../../../web/dist/app.js"),
    gzip: include_bytes!("../../../web/dist/app.js.gz"),
    content_type: "text/javascript; charset=utf-8",
};
const APP_CSS: Asset = Asset {
    plain: include_bytes!("../../../web/dist/app.css"),
    gzip: include_bytes!("../../../web/dist/app.css.gz"),
    content_type: "text/css; charset=utf-8",
};

/// jsQR, loaded by the wallet only when it opens the camera.
const QR_JS: Asset = Asset {
    plain: include_bytes!("../../../web/dist/qr.js"),
    gzip: include_bytes!("../../../web/dist/qr.js.gz"),
    content_type: "text/javascript; charset=utf-8",
};

/// 64-bit FNV-1a: an entity tag only has to change when the bytes do.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

static ETAGS: LazyLock<[String; 4]> = LazyLock::new(|| {
    [INDEX, APP_JS, APP_CSS, QR_JS].map(|a| format!("\"{:016x}\"", fnv1a(a.plain)))
});

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn serve(asset: &Asset, etag: &str, headers: &HeaderMap) -> Response {
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, asset.content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ETAG, etag)
        .header(header::VARY, "accept-encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        builder = builder.status(StatusCode::NOT_MODIFIED);
        return builder.body(Body::empty()).unwrap_or_default();
    }
    let body = if accepts_gzip(headers) {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        asset.gzip
    } else {
        asset.plain
    };
    builder.body(Body::from(body)).unwrap_or_default()
}

/// The app's routes; `genesis_json` is the genesis spec the node runs, as JSON.
pub fn router(genesis_json: Arc<str>) -> Router {
    let genesis = move || {
        let json = genesis_json.clone();
        async move {
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
                json.to_string(),
            )
                .into_response()
        }
    };
    Router::new()
        .route(
            "/",
            get(|h: HeaderMap| async move { serve(&INDEX, &ETAGS[0], &h) }),
        )
        .route(
            "/app.js",
            get(|h: HeaderMap| async move { serve(&APP_JS, &ETAGS[1], &h) }),
        )
        .route(
            "/app.css",
            get(|h: HeaderMap| async move { serve(&APP_CSS, &ETAGS[2], &h) }),
        )
        .route(
            "/qr.js",
            get(|h: HeaderMap| async move { serve(&QR_JS, &ETAGS[3], &h) }),
        )
        .route("/genesis.json", get(genesis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get_with(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::builder().uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        router(Arc::from("{}"))
            .oneshot(req.body(Body::empty()).expect("a request"))
            .await
            .expect("the router answers")
    }

    #[tokio::test]
    async fn assets_are_served_gzipped_to_who_accepts_it_and_plain_otherwise() {
        for (path, asset) in [
            ("/", INDEX),
            ("/app.js", APP_JS),
            ("/app.css", APP_CSS),
            ("/qr.js", QR_JS),
        ] {
            let zipped = get_with(path, &[("accept-encoding", "gzip, br")]).await;
            assert_eq!(zipped.status(), StatusCode::OK, "{path}");
            assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
            assert_eq!(zipped.headers()[header::CONTENT_TYPE], asset.content_type);
            let body = to_bytes(zipped.into_body(), usize::MAX)
                .await
                .expect("body");
            assert_eq!(&body[..], asset.gzip, "{path}");
            assert!(asset.gzip.len() < asset.plain.len(), "{path} compresses");

            let plain = get_with(path, &[("accept-encoding", "gzip;q=0")]).await;
            assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
            let body = to_bytes(plain.into_body(), usize::MAX).await.expect("body");
            assert_eq!(&body[..], asset.plain, "{path}");
        }
    }

    #[tokio::test]
    async fn a_known_etag_is_answered_not_modified() {
        let first = get_with("/app.js", &[]).await;
        let etag = first.headers()[header::ETAG]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(first.headers()[header::CACHE_CONTROL], "no-cache");
        let again = get_with("/app.js", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get_with("/app.js", &[("if-none-match", "\"0\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[test]
    fn the_page_loads_the_bundle_by_its_served_paths() {
        let html = std::str::from_utf8(INDEX.plain).expect("utf-8");
        assert!(html.contains("src=\"/app.js\""), "{html}");
        assert!(html.contains("href=\"/app.css\""), "{html}");
    }
}
