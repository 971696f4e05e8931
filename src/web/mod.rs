//! `kb serve`: a read-only web view of the vaults kb would search, for colleagues who do not
//! live in a terminal. It stands on the same [`Library`] as the CLI and `kb mcp` (one search,
//! one note view); the pages are in [`pages`].
//!
//! Safe by construction: only GET and HEAD (others get 405, before any routing); the Host
//! header must name the address served (a page of another site that points a name at
//! 127.0.0.1 gets 421: DNS rebinding); every response carries a Content-Security-Policy that
//! allows only the server's own style sheet and script; note HTML is sanitised; no URL path is
//! a file path (notes are found by id through the index, and the id is checked to stay inside
//! its vault); errors and panics are pages, and the server goes on.
//!
//! Long-running and fresh: the vaults are opened once; before each request the library is
//! brought up to date (notes added by the CLI appear); no vault lock is ever taken.

pub mod pages;

use crate::library::{Freshness, Library};
use crate::search::SearchRequest;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The port `kb serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 7720;
/// A query longer than this is refused (a whole log pasted by mistake).
const MAX_QUERY_BYTES: usize = crate::mcp::MAX_QUERY_BYTES;
/// Results on a search page.
const HITS: usize = 10;

const CSS: &str = include_str!("kb.css");
const JS: &str = include_str!("kb.js");

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What the server serves.
pub struct Options {
    /// The vaults: (label when several, folder).
    pub set: Vec<(Option<String>, std::path::PathBuf)>,
    pub freshness: Freshness,
    /// The embedding model's folder (None: words only), loaded at start.
    pub model: Option<std::path::PathBuf>,
    pub bind: SocketAddr,
}

struct Shared {
    library: Mutex<Library>,
    /// The Host header values accepted.
    hosts: Vec<String>,
    /// The address is the unspecified one (0.0.0.0, ::): any IP address of the machine.
    any_address: bool,
    port: u16,
}

/// Open the vaults, bind, call `ready` with the address bound (port 0 picks a free one), then
/// serve until the process is stopped.
pub fn serve(opts: Options, ready: impl FnOnce(SocketAddr)) -> crate::error::Result<()> {
    let (library, warnings) = Library::open_serving(&opts.set, opts.freshness, opts.model.clone())?;
    for w in warnings {
        eprintln!("kb serve: {w}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::KbError::Io {
            path: "the server's runtime".into(),
            error: e,
        })?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|e| {
                crate::error::KbError::InvalidInput(format!("cannot listen on {}: {e}", opts.bind))
            })?;
        let bound = listener
            .local_addr()
            .map_err(|e| crate::error::KbError::Io {
                path: "the server's socket".into(),
                error: e,
            })?;
        let shared = Arc::new(Shared {
            library: Mutex::new(library),
            hosts: allowed_hosts(bound),
            any_address: bound.ip().is_unspecified(),
            port: bound.port(),
        });
        ready(bound);
        axum::serve(listener, router(shared))
            .await
            .map_err(|e| crate::error::KbError::Io {
                path: "the server".into(),
                error: e,
            })
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(search_page))
        .route("/note/{*id}", get(note_page))
        .route("/tag/{tag}", get(tag_page))
        .route("/tags", get(tags_page))
        .route("/static/kb.css", get(|| async { asset("text/css", CSS) }))
        .route(
            "/static/kb.js",
            get(|| async { asset("text/javascript", JS) }),
        )
        .fallback(|| async { page(StatusCode::NOT_FOUND, "There is no such page here.") })
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Before routing: only GET and HEAD, only to a Host this server is; after: the security
/// headers on every response.
async fn guard(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let mut resp = if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = page(
            StatusCode::METHOD_NOT_ALLOWED,
            "This view is read-only: only GET and HEAD.",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    } else if !host_allowed(&shared, req.headers().get(header::HOST)) {
        page(
            StatusCode::MISDIRECTED_REQUEST,
            "This server answers only to the address it was started on.",
        )
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The server's own time for the page (browsers' developer tools and the benchmark read
    // it).
    let took = format!("app;dur={:.2}", started.elapsed().as_secs_f64() * 1000.0);
    if let Ok(v) = HeaderValue::from_str(&took) {
        h.insert(header::HeaderName::from_static("server-timing"), v);
    }
    resp
}

/// The Host values of a loopback or specific address: `ADDR:PORT` (and `localhost:PORT` for
/// loopback; without the port for port 80).
fn allowed_hosts(bound: SocketAddr) -> Vec<String> {
    let port = bound.port();
    let mut names = vec![match bound {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    }];
    if bound.ip().is_loopback() {
        names.extend(["localhost".into(), "127.0.0.1".into(), "[::1]".into()]);
    }
    let mut hosts: Vec<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
    if port == 80 {
        hosts.extend(names);
    }
    hosts
}

fn host_allowed(shared: &Shared, host: Option<&HeaderValue>) -> bool {
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    if shared.hosts.contains(&host) {
        return true;
    }
    // Bound to every address: any IP address of the machine (a name could be anyone's).
    if shared.any_address {
        let (addr, port) = match host.rsplit_once(':') {
            Some((a, p)) if !a.is_empty() && !p.contains(']') => (a, p.parse::<u16>().ok()),
            _ => (host.as_str(), Some(80)),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        return port == Some(shared.port) && addr.parse::<std::net::IpAddr>().is_ok();
    }
    false
}

fn asset(kind: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        text,
    )
        .into_response()
}

fn html(status: StatusCode, text: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from(text),
    )
        .into_response()
}

fn page(status: StatusCode, message: &str) -> Response {
    html(status, pages::error(status.as_u16(), message))
}

/// Run `work` on the library (brought up to date first) off the async threads; a panic in it
/// is a 500 page, and the server goes on.
async fn with_library(
    shared: Arc<Shared>,
    work: impl FnOnce(&mut Library) -> Response + Send + 'static,
) -> Response {
    let done = tokio::task::spawn_blocking(move || {
        let mut library = match shared.library.lock() {
            Ok(l) => l,
            // A request that panicked while holding it: the library itself is still whole
            // (a search does not change it half-way).
            Err(poisoned) => poisoned.into_inner(),
        };
        for w in library.refresh() {
            eprintln!("kb serve: {w}");
        }
        let response = work(&mut library);
        for w in library.after_request() {
            eprintln!("kb serve: {w}");
        }
        response
    })
    .await;
    done.unwrap_or_else(|_| {
        page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong while reading the notes; the server goes on.",
        )
    })
}

/// `q` of the query string (form encoding; never fails: bad bytes become U+FFFD).
fn query_param(raw: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(raw?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn search_page(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let query = query_param(raw.as_deref(), "q").unwrap_or_default();
    if query.len() > MAX_QUERY_BYTES {
        return page(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "The query is {} KB; at most {} KB: paste the error lines, not the whole log.",
                query.len() / 1024,
                MAX_QUERY_BYTES / 1024
            ),
        );
    }
    with_library(shared, move |library| {
        if query.trim().is_empty() {
            let notes = library.shelves.iter().map(|s| s.index.num_notes()).sum();
            let labels: Vec<String> = library
                .labels()
                .into_iter()
                .flatten()
                .map(String::from)
                .collect();
            return html(StatusCode::OK, pages::home(notes, &labels));
        }
        let req = SearchRequest {
            text: query.clone(),
            limit: HITS,
            filter: crate::filter::Filter::default(),
        };
        match library.answer(&req, None, true) {
            Ok(a) => html(
                StatusCode::OK,
                pages::results(&query, &a.found, a.advice.as_ref()),
            ),
            Err(e) => page(StatusCode::BAD_REQUEST, &e.to_string()),
        }
    })
    .await
}

async fn note_page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    with_library(shared, move |library| {
        let found = library
            .find(&id)
            .and_then(|(shelf, rel)| Ok((shelf, library.view(shelf, &rel)?, rel)));
        let (shelf, (view, note, text), rel) = match found {
            Ok(f) => f,
            Err(crate::error::KbError::NoteNotFound(_)) => {
                return page(StatusCode::NOT_FOUND, &format!("There is no note '{id}'."))
            }
            Err(e) => return page(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let split = crate::frontmatter::split(&text);
        let body = without_title_heading(text.get(split.body_offset..).unwrap_or(""), &view.title);
        let s = &library.shelves[shelf];
        let backlinks = s
            .index
            .backlinks(&rel)
            .unwrap_or_default()
            .into_iter()
            .map(|n| (s.id_of(&n.rel), n.title))
            .collect();
        html(
            StatusCode::OK,
            pages::note(&pages::NotePage {
                view: &view,
                body,
                created: note.created.as_deref(),
                updated: note.updated.as_deref(),
                backlinks,
            }),
        )
    })
    .await
}

/// The body without its first line when that is a `# heading` repeating the title (the page
/// shows the title already).
fn without_title_heading<'a>(body: &'a str, title: &str) -> &'a str {
    let start = body.len() - body.trim_start().len();
    let rest = &body[start..];
    let (first, after) = rest.split_once('\n').unwrap_or((rest, ""));
    match first.trim_end().strip_prefix("# ") {
        Some(h) if h.trim() == title.trim() => after,
        _ => body,
    }
}

async fn tag_page(State(shared): State<Arc<Shared>>, Path(tag): Path<String>) -> Response {
    with_library(shared, move |library| {
        let mut notes = Vec::new();
        for s in &library.shelves {
            let Ok(all) = s.index.all() else { continue };
            for n in all {
                if n.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
                    notes.push((s.id_of(&n.rel), n.title));
                }
            }
        }
        if notes.is_empty() {
            return page(StatusCode::NOT_FOUND, &format!("No note is tagged #{tag}."));
        }
        notes.sort_by_key(|n| n.1.to_lowercase());
        html(StatusCode::OK, pages::tag(&tag, &notes))
    })
    .await
}

async fn tags_page(State(shared): State<Arc<Shared>>) -> Response {
    with_library(shared, move |library| {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for s in &library.shelves {
            for n in s.index.all().unwrap_or_default() {
                for t in n.tags {
                    *counts.entry(t.to_lowercase()).or_default() += 1;
                }
            }
        }
        let counts: Vec<(String, usize)> = counts.into_iter().collect();
        html(StatusCode::OK, pages::tags(&counts))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(bound: &str) -> Shared {
        let bound: SocketAddr = bound.parse().unwrap();
        Shared {
            library: Mutex::new(Library::open(&[], Freshness::default()).unwrap().0),
            hosts: allowed_hosts(bound),
            any_address: bound.ip().is_unspecified(),
            port: bound.port(),
        }
    }

    #[test]
    fn a_heading_repeating_the_title_is_left_out() {
        assert_eq!(without_title_heading("\n# T\n\ntext\n", "T"), "\ntext\n");
        assert_eq!(without_title_heading("# Other\ntext", "T"), "# Other\ntext");
        assert_eq!(without_title_heading("## T\n", "T"), "## T\n");
    }

    #[test]
    fn only_the_bound_address_is_a_host() {
        let s = shared("127.0.0.1:7720");
        let ok = |h: &str| host_allowed(&s, Some(&HeaderValue::from_str(h).unwrap()));
        assert!(ok("127.0.0.1:7720") && ok("localhost:7720") && ok("LOCALHOST:7720"));
        assert!(!ok("evil.example:7720") && !ok("127.0.0.1:7721") && !ok("localhost"));
        assert!(!host_allowed(&s, None));
        let any = shared("0.0.0.0:7720");
        let ok = |h: &str| host_allowed(&any, Some(&HeaderValue::from_str(h).unwrap()));
        assert!(ok("192.168.1.5:7720") && ok("[fe80::1]:7720"));
        assert!(!ok("evil.example:7720") && !ok("192.168.1.5:80"));
    }
}
