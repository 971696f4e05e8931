//! `kb mcp`: the vaults served to an AI assistant over the Model Context Protocol (stdio, the
//! official `rmcp` SDK). Few tools, each described for when an assistant should use it:
//! `search`, `show`, and with writes allowed `add`, `link`, `record_outcome`.
//!
//! The server opens the vaults once ([`Library`]) and keeps their readers for its life; before
//! each call it brings them up to date, so notes the CLI added meanwhile are found. It holds no
//! lock between calls: a write takes the vault's write lock for its own duration, through the
//! same [`Workspace`] calls as the CLI commands. Bad input (an unknown tool or argument, a
//! wrong type, a missing note, an oversized query) is a tool error of one sentence; the server
//! never exits on a request. stdout carries only protocol messages.

use crate::error::KbError;
use crate::library::Library;
use crate::note::Note;
use crate::search::SearchRequest;
use crate::vault::{self, Vault};
use crate::workspace::{Attached, Stored, Workspace};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A query longer than this is refused (a whole log pasted by mistake).
pub const MAX_QUERY_BYTES: usize = 100 * 1024;
/// At most this many hits per search.
const MAX_LIMIT: u64 = 50;

/// What the server serves.
pub struct Options {
    /// The vaults searched: (label when several, folder).
    pub set: Vec<(Option<String>, PathBuf)>,
    /// The vault writes go to (None: writes refused, as for a read-only vault).
    pub target: Option<PathBuf>,
    pub freshness: crate::library::Freshness,
    /// The embedding model's folder (None: words only), loaded at start.
    pub model: Option<PathBuf>,
    /// Whether the write tools are offered (`--allow-write`, `mcp.allow_write`).
    pub allow_write: bool,
    /// The git program commits stage with (None: libgit2).
    pub git: Option<PathBuf>,
}

struct State {
    library: Library,
    opts: Options,
}

/// The MCP server: the state behind a mutex (calls are served one at a time; each is short).
#[derive(Clone)]
pub struct Server {
    state: Arc<Mutex<State>>,
    allow_write: bool,
}

/// Serve over stdin and stdout until the client closes them.
pub fn serve(opts: Options) -> crate::error::Result<()> {
    let (library, warnings) = Library::open_serving(&opts.set, opts.freshness, opts.model.clone())?;
    for w in warnings {
        eprintln!("kb mcp: {w}");
    }
    let server = Server {
        allow_write: opts.allow_write,
        state: Arc::new(Mutex::new(State { library, opts })),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KbError::InvalidInput(format!("cannot start the MCP server: {e}")))?;
    runtime.block_on(async move {
        let running = server
            .serve(rmcp::transport::io::stdio())
            .await
            .map_err(|e| KbError::InvalidInput(format!("the MCP session did not start: {e}")))?;
        running
            .waiting()
            .await
            .map_err(|e| KbError::InvalidInput(format!("the MCP session ended badly: {e}")))?;
        Ok(())
    })
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("kb", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "kb holds the fixes this support person recorded. When a customer's error or problem comes up, call `search` with the error text as pasted (or the problem in a few words) before guessing; `show` gives a whole note.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult {
            tools: tools(self.allow_write),
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        let state = self.state.clone();
        let allow_write = self.allow_write;
        // The vaults are read and written with blocking calls: off the protocol's thread.
        let outcome = tokio::task::spawn_blocking(move || {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                call(&mut state, allow_write, &name, &args)
            }));
            for w in state.library.after_request() {
                eprintln!("kb mcp: {w}");
            }
            answer.unwrap_or_else(|_| {
                Err(
                    "kb hit an internal error on this request (a bug in kb); the server goes on"
                        .into(),
                )
            })
        })
        .await
        .unwrap_or_else(|e| Err(format!("the request stopped unexpectedly: {e}")));
        Ok(match outcome {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        }
        .into())
    }
}

/// The tools, with short descriptions that say when to use each.
fn tools(allow_write: bool) -> Vec<Tool> {
    let schema = |v: Value| match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(Map::new()),
    };
    let mut list = vec![
        Tool::new(
            "search",
            "Find the person's recorded fixes for an error or problem. Pass the error text exactly as the customer or the log shows it (paths, names and numbers may differ; kb matches the constant parts), or the problem in a few words. Returns the best notes with their fix and record; `answered: false` means no note records this error (then `advice` says what to search on the web).",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The pasted error or log lines, or words describing the problem"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "At most this many notes (default 5)"},
                    "vault": {"type": "string", "description": "Only this vault (when several are configured)"},
                    "tag": {"type": "string", "description": "Only notes with this tag"}
                },
                "required": ["query"]
            })),
        ),
        Tool::new(
            "show",
            "Read one note whole (its text, errors, fix and record) by the id `search` returned.",
            schema(json!({
                "type": "object",
                "properties": {"id": {"type": "string", "description": "The note's id, e.g. windows/smb-network-path-not-found or team:printing/spooler"}},
                "required": ["id"]
            })),
        ),
    ];
    if allow_write {
        list.extend([
            Tool::new(
                "add",
                "Record a new fix once a problem is solved and no note had it: a title, the error messages seen, and the steps that worked. Refused when a note already records one of the errors (use `link`), unless `force` is true.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "string"}, "description": "Error messages as they appeared"},
                        "fix": {"type": "string", "description": "The steps that worked (markdown)"},
                        "problem": {"type": "string"},
                        "cause": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "force": {"type": "boolean", "description": "Add even if a note records one of the errors"}
                    },
                    "required": ["title", "fix"]
                })),
            ),
            Tool::new(
                "link",
                "Attach a new variant of an error to the note whose fix solved it, so the next search finds it.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "error": {"type": "string", "description": "The error text as it appeared"},
                        "id": {"type": "string", "description": "The note's id"}
                    },
                    "required": ["error", "id"]
                })),
            ),
            Tool::new(
                "record_outcome",
                "Record that a note's fix worked or failed on this call (it ranks fixes that work first).",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "outcome": {"type": "string", "enum": ["worked", "failed"]},
                        "ticket": {"type": "string"},
                        "minutes": {"type": "integer", "minimum": 0},
                        "why": {"type": "string", "description": "Why it failed"}
                    },
                    "required": ["id", "outcome"]
                })),
            ),
        ]);
    }
    list
}

/// One tool call: its JSON result, or one sentence saying what is wrong.
fn call(
    state: &mut State,
    allow_write: bool,
    name: &str,
    args: &Map<String, Value>,
) -> Result<Value, String> {
    let write = matches!(name, "add" | "link" | "record_outcome");
    if write && !allow_write {
        return Err(format!(
            "'{name}' is a write tool and this server is read-only: start it with `kb mcp --allow-write` (or mcp.allow_write = true in config.toml)"
        ));
    }
    for w in state.library.refresh() {
        eprintln!("kb mcp: {w}");
    }
    match name {
        "search" => search_tool(
            state,
            &Args::new(name, args, &["query", "limit", "vault", "tag"])?,
        ),
        "show" => show_tool(state, &Args::new(name, args, &["id"])?),
        "add" => add_tool(
            state,
            &Args::new(
                name,
                args,
                &[
                    "title", "errors", "fix", "problem", "cause", "tags", "force",
                ],
            )?,
        ),
        "link" => link_tool(state, &Args::new(name, args, &["error", "id"])?),
        "record_outcome" => outcome_tool(
            state,
            &Args::new(name, args, &["id", "outcome", "ticket", "minutes", "why"])?,
        ),
        other => Err(format!(
            "there is no tool '{other}'; the tools are {}",
            tools(allow_write)
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A call's arguments, with the names assistants commonly use for them taken too (`q`,
/// `text` for `query`; `n`, `max` for `limit`; `note`, `note_id` for `id`...).
struct Args<'a> {
    tool: &'a str,
    map: Map<String, Value>,
}

const ALIASES: &[(&str, &[&str])] = &[
    ("query", &["q", "text", "error", "search", "question"]),
    ("limit", &["n", "max", "max_results", "count", "top_k", "k"]),
    ("id", &["note", "note_id", "name", "path"]),
    ("tag", &["tags"]),
    ("errors", &["error"]),
    ("error", &["text", "message"]),
    ("outcome", &["result", "status"]),
    ("vault", &["vaults"]),
];

impl<'a> Args<'a> {
    fn new(tool: &'a str, given: &Map<String, Value>, known: &[&str]) -> Result<Args<'a>, String> {
        let mut map = Map::new();
        for (k, v) in given {
            let canonical = if known.contains(&k.as_str()) {
                Some(k.as_str())
            } else {
                known.iter().copied().find(|name| {
                    ALIASES
                        .iter()
                        .any(|(c, alts)| c == name && alts.contains(&k.as_str()))
                })
            };
            match canonical {
                Some(c) if !map.contains_key(c) || known.contains(&k.as_str()) => {
                    map.insert(c.to_string(), v.clone());
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "'{tool}' has no argument '{k}'; it takes {}",
                        known.join(", ")
                    ))
                }
            }
        }
        Ok(Args { tool, map })
    }

    fn text(&self, name: &str) -> Result<Option<String>, String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(format!(
                "'{name}' of '{}' must be a string, not {}",
                self.tool,
                kind(other)
            )),
        }
    }

    fn required(&self, name: &str) -> Result<String, String> {
        match self.text(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(format!("'{}' needs '{name}'", self.tool)),
        }
    }

    fn number(&self, name: &str, max: u64) -> Result<Option<u64>, String> {
        let bad = |what: &str| {
            format!(
                "'{name}' of '{}' must be a whole number from 0 to {max}, not {what}",
                self.tool
            )
        };
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= max => Ok(Some(v)),
                _ => Err(bad(&n.to_string())),
            },
            Some(Value::String(s)) => match s.trim().parse::<u64>() {
                Ok(v) if v <= max => Ok(Some(v)),
                _ => Err(bad(&format!("\"{s}\""))),
            },
            Some(other) => Err(bad(kind(other))),
        }
    }

    fn list(&self, name: &str) -> Result<Vec<String>, String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "'{name}' of '{}' must hold strings, not {}",
                        self.tool,
                        kind(other)
                    )),
                })
                .collect(),
            Some(other) => Err(format!(
                "'{name}' of '{}' must be a list of strings, not {}",
                self.tool,
                kind(other)
            )),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, String> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!(
                "'{name}' of '{}' must be true or false, not {}",
                self.tool,
                kind(other)
            )),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn search_tool(state: &mut State, a: &Args) -> Result<Value, String> {
    let query = a.required("query")?;
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "the query is {} KB; at most {} KB (paste the error lines, not the whole log)",
            query.len() / 1024,
            MAX_QUERY_BYTES / 1024
        ));
    }
    let limit = a.number("limit", MAX_LIMIT)?.unwrap_or(5).max(1) as usize;
    let tags = a.list("tag")?;
    let req = SearchRequest {
        text: query.clone(),
        limit,
        filter: crate::filter::Filter::new(&tags, None).map_err(|e| e.to_string())?,
    };
    let wanted_vault = a.text("vault")?;
    let writable = state.opts.target.is_some();
    let answer = state
        .library
        .answer(&req, wanted_vault.as_deref(), writable)
        .map_err(|e| e.to_string())?;
    if let (Some(adv), Some(target)) = (&answer.advice, &state.opts.target) {
        if let Ok(v) = Vault::open(target) {
            let _ = crate::misses::remember(&v, &adv.web_query, &answer.prepared, &now_rfc3339());
        }
    }
    let mut out = Vec::new();
    for f in &answer.found {
        let mut v = serde_json::to_value(&f.view).unwrap_or_default();
        if let Value::Object(m) = &mut v {
            m.insert("id".into(), json!(f.id));
            m.insert("score".into(), json!((f.score * 1000.0).round() / 1000.0));
            m.insert("matched_errors".into(), json!(f.matched_errors));
            if let Some(s) = f.explanation.semantic {
                m.insert("semantic".into(), json!((s * 1000.0).round() / 1000.0));
            }
            // Compact: the recorded errors that matched say enough.
            m.remove("errors");
            m.retain(|_, v| !v.is_null() && *v != json!([]));
        }
        out.push(v);
    }
    let mut result = json!({"answered": answer.advice.is_none(), "hits": out});
    if let Some(adv) = answer.advice {
        result["advice"] = serde_json::to_value(adv).unwrap_or_default();
    }
    Ok(result)
}

fn show_tool(state: &mut State, a: &Args) -> Result<Value, String> {
    let id = a.required("id")?;
    let (shelf, rel) = state.library.find(&id).map_err(|e| e.to_string())?;
    let (view, note, text) = state.library.view(shelf, &rel).map_err(|e| e.to_string())?;
    let mut v = serde_json::to_value(&view).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert("text".into(), json!(text));
        m.insert("created".into(), json!(note.created));
        m.insert("updated".into(), json!(note.updated));
        m.retain(|_, v| !v.is_null());
    }
    Ok(v)
}

/// The workspace of the vault writes go to, its index brought up to date.
fn workspace(state: &State) -> Result<Workspace, String> {
    let target = state
        .opts
        .target
        .as_ref()
        .ok_or("no vault takes writes here (the vaults are read-only)")?;
    let vault = Vault::open(target).map_err(|e| e.to_string())?;
    let (ws, _) =
        Workspace::open(&vault, state.opts.freshness.check()).map_err(|e| e.to_string())?;
    Ok(ws.with_git(state.opts.git.clone()))
}

/// The vault's relative path of a note id given to a write tool (the vault writes go to).
fn resolve_for_write(state: &State, ws: &Workspace, id: &str) -> Result<String, String> {
    let bare = match id.split_once(':') {
        Some((label, rest))
            if state
                .library
                .shelves
                .iter()
                .any(|s| s.label.as_deref() == Some(label)) =>
        {
            let target_label = state.library.shelves.iter().find_map(|s| {
                (Some(s.index.vault().root()) == state.opts.target.as_deref())
                    .then_some(s.label.as_deref())
            });
            if target_label.flatten() != Some(label) {
                return Err(format!(
                    "'{id}' is in vault '{label}', which this server does not write to"
                ));
            }
            rest
        }
        _ => id,
    };
    ws.index().resolve(bare).map_err(|e| e.to_string())
}

/// What a write did, as the CLI reports it.
fn stored(r: &Stored, vault: &Vault, said: &str) -> Value {
    let rel = r.rels.first().cloned().unwrap_or_default();
    let mut warnings = Vec::new();
    let commit = match &r.commit {
        Ok(c) => c.clone(),
        Err(e) => {
            warnings.push(format!(
                "the note is saved but not committed ({e}); `kb sync` commits it"
            ));
            None
        }
    };
    match &r.indexed {
        Ok(rep) => warnings.extend(rep.warnings.iter().cloned()),
        Err(e) => warnings.push(format!(
            "the note is saved but not indexed yet ({e}); the next kb command indexes it"
        )),
    }
    json!({
        "done": said,
        "id": vault::id_of(&rel),
        "path": vault.abs(&rel).display().to_string(),
        "commit": commit,
        "message": r.message,
        "warnings": warnings,
    })
}

fn add_tool(state: &mut State, a: &Args) -> Result<Value, String> {
    let title = a.required("title")?;
    let fix = a.required("fix")?;
    let errors = a.list("errors")?;
    let tags = a.list("tags")?;
    let force = a.flag("force")?;
    let mut ws = workspace(state)?;
    let vault = ws.vault().clone();
    let team = vault.team();
    let mut all_tags = tags.clone();
    for t in &team.default_tags {
        if !all_tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            all_tags.push(t.clone());
        }
    }
    let folder = vault
        .check_folder(team.folder.as_deref().unwrap_or(""))
        .map_err(|e| e.to_string())?;
    let text = note_text(&title, &errors, &all_tags, a, &fix)?;
    // Likely secrets (tokens pasted in the chat) are masked, as `kb add --redact` does.
    let found = crate::secrets::find(&text);
    let text = crate::secrets::redact(&text, &found);
    let note = Note::parse(&text, "");
    if !force {
        if let Some(k) = ws.known_error(&note).map_err(|e| e.to_string())? {
            return Err(format!(
                "not adding a duplicate: {} \"{}\" already records the error \"{}\"; call `link` with that id, or `add` with force: true",
                vault::id_of(&k.rel),
                k.title,
                crate::misses::clip(&k.error, 200)
            ));
        }
    }
    let r = ws
        .add_note(&folder, &note.title, &text)
        .map_err(|e| e.to_string())?;
    let mut v = stored(&r, &vault, "added");
    if !found.is_empty() {
        let kinds: Vec<&str> = found.iter().map(|f| f.kind).collect();
        v["masked"] = json!(kinds);
    }
    Ok(v)
}

/// A new note's text, as `kb add --title --error --tag --problem --cause --fix` makes it.
fn note_text(
    title: &str,
    errors: &[String],
    tags: &[String],
    a: &Args,
    fix: &str,
) -> Result<String, String> {
    use crate::frontmatter::yaml_string;
    let mut s = format!("---\ntitle: {}\n", yaml_string(title));
    let tags: Vec<String> = tags.iter().map(|t| yaml_string(t)).collect();
    s.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    if errors.is_empty() {
        s.push_str("errors: []\n");
    } else {
        s.push_str("errors:\n");
        for e in errors {
            s.push_str(&format!("  - {}\n", yaml_string(e)));
        }
    }
    s.push_str(&format!("created: {}\n---\n\n# {title}\n\n", now_rfc3339()));
    for (heading, field) in [("Problem", "problem"), ("Cause", "cause")] {
        if let Some(t) = a.text(field)?.filter(|t| !t.trim().is_empty()) {
            s.push_str(&format!("## {heading}\n\n{}\n\n", t.trim()));
        }
    }
    s.push_str(&format!("## Fix\n\n{}\n", fix.trim()));
    Ok(s)
}

fn link_tool(state: &mut State, a: &Args) -> Result<Value, String> {
    let error = a.required("error")?;
    let id = a.required("id")?;
    let mut ws = workspace(state)?;
    let rel = resolve_for_write(state, &ws, &id)?;
    let vault = ws.vault().clone();
    let error = crate::secrets::redact(&error, &crate::secrets::find(&error));
    match ws
        .attach_error(&rel, &error, &now_rfc3339())
        .map_err(|e| e.to_string())?
    {
        Attached::Already => Ok(json!({
            "done": "nothing changed",
            "id": vault::id_of(&rel),
            "why": "the note already holds this error (same constant parts)",
        })),
        Attached::Done(r) => Ok(stored(&r, &vault, "error attached")),
    }
}

fn outcome_tool(state: &mut State, a: &Args) -> Result<Value, String> {
    let id = a.required("id")?;
    let worked = match a.required("outcome")?.trim().to_ascii_lowercase().as_str() {
        "worked" | "work" | "success" | "fixed" | "yes" => true,
        "failed" | "fail" | "failure" | "no" => false,
        other => {
            return Err(format!(
                "'outcome' must be \"worked\" or \"failed\", not \"{other}\""
            ))
        }
    };
    let minutes = a.number("minutes", 24 * 60)?.map(|m| m as u32);
    let mut ws = workspace(state)?;
    let rel = resolve_for_write(state, &ws, &id)?;
    let vault = ws.vault().clone();
    let outcome = crate::outcomes::Outcome {
        at: now_rfc3339(),
        worked,
        ticket: a.text("ticket")?.filter(|t| !t.trim().is_empty()),
        minutes: if worked { minutes } else { None },
        by: crate::workspace::who(Some(&vault)),
        why: if worked {
            None
        } else {
            a.text("why")?.filter(|t| !t.trim().is_empty())
        },
    };
    let r = ws
        .record_outcome(&rel, &outcome)
        .map_err(|e| e.to_string())?;
    Ok(stored(
        &r,
        &vault,
        if worked {
            "recorded: worked"
        } else {
            "recorded: failed"
        },
    ))
}

fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
