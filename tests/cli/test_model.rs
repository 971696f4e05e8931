//! The optional embedding model: `kb model check`, vectors computed by `kb index` for new and
//! changed notes only, typed questions ranked with meaning (`--explain`, `--json`), pasted
//! errors without it, a search that never waits for vectors, and an unusable model that
//! leaves search working by words. The plumbing runs on a tiny BERT model the tests write
//! (random weights, a small vocabulary); one test runs the real all-MiniLM-L6-v2
//! (`KB_TEST_MODEL`, fetched by tests/run.sh through tests/fetch_model.sh).

use crate::env::{note, TestEnv};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WORDS: &[&str] = &[
    "printer", "spooler", "stops", "outlook", "password", "prompt", "fan", "loud", "laptop",
    "update", "mail", "login", "again", "keeps", "asking", "the", "for", "after", "fix", "error",
    "restart", "service", "windows", "clear", "cache", "new", "note", "vpn", "drops", "wifi",
    "##s", "##ing", "##ed",
];

/// A tiny sentence-transformers folder: BERT with 2 layers of 32 dimensions, random weights
/// (a fixed seed), a WordPiece vocabulary of the words above.
pub fn tiny_model(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    let vocab: Vec<&str> = specials.iter().chain(WORDS).copied().collect();
    let (hidden, inter, layers, positions) = (32usize, 64usize, 2usize, 64usize);
    let config = serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": vocab.len(), "hidden_size": hidden, "num_hidden_layers": layers,
        "num_attention_heads": 2, "intermediate_size": inter, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": positions, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let ids: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), serde_json::json!(i)))
        .collect();
    let special = |t: &str| {
        serde_json::json!({"id": ids[t], "content": t, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true})
    };
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": specials.iter().map(|t| special(t)).collect::<Vec<_>>(),
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": ids}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    std::fs::write(
        dir.join("1_Pooling/config.json"),
        r#"{"word_embedding_dimension": 32, "pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 48, "do_lower_case": false}"#,
    )
    .unwrap();
    let mut tensors: Vec<(String, Vec<usize>, bool)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![vocab.len(), hidden],
            false,
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![positions, hidden],
            false,
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, hidden],
            false,
        ),
    ];
    let norm = |name: &str, t: &mut Vec<(String, Vec<usize>, bool)>| {
        t.push((format!("{name}.LayerNorm.weight"), vec![hidden], true));
        t.push((format!("{name}.LayerNorm.bias"), vec![hidden], false));
    };
    norm("embeddings", &mut tensors);
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (name, out, inp) in [
            (format!("{p}.attention.self.query"), hidden, hidden),
            (format!("{p}.attention.self.key"), hidden, hidden),
            (format!("{p}.attention.self.value"), hidden, hidden),
            (format!("{p}.attention.output.dense"), hidden, hidden),
            (format!("{p}.intermediate.dense"), inter, hidden),
            (format!("{p}.output.dense"), hidden, inter),
        ] {
            tensors.push((format!("{name}.weight"), vec![out, inp], false));
            tensors.push((format!("{name}.bias"), vec![out], false));
        }
        norm(&format!("{p}.attention.output"), &mut tensors);
        norm(&format!("{p}.output"), &mut tensors);
    }
    write_safetensors(&dir.join("model.safetensors"), &tensors);
    dir.to_path_buf()
}

/// A safetensors file of f32 tensors: LayerNorm weights 1, the rest pseudo-random.
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, bool)]) {
    let mut header = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for (name, shape, ones) in tensors {
        let n: usize = shape.iter().product();
        let start = data.len();
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = ((seed >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.4;
            let v: f32 = if *ones { 1.0 } else { r };
            data.extend_from_slice(&v.to_le_bytes());
        }
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut h = serde_json::Value::Object(header).to_string().into_bytes();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

fn vault_with_notes(env: &TestEnv) {
    env.write(
        "printing/spooler.md",
        note(
            "Printer spooler stops after update",
            &["printing"],
            &["The Print Spooler service terminated unexpectedly"],
            "Restart the spooler service and clear the queue.",
        ),
    );
    env.write(
        "email/outlook-password.md",
        note(
            "Outlook keeps asking for the password",
            &["email"],
            &[],
            "Clear the cached credentials, then sign in again.",
        ),
    );
    env.write(
        "hardware/fan.md",
        note(
            "Laptop fan loud after update",
            &["hardware"],
            &[],
            "Update the BIOS and reset the power plan.",
        ),
    );
}

/// A vault of three notes embedded with the tiny model, and the model's folder.
fn embedded_vault() -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    let model = tiny_model(&env.home.join("tiny"));
    vault_with_notes(&env);
    with_model(&env, &model, &["index"]).ok();
    (env, model)
}

fn with_model(env: &TestEnv, model: &Path, args: &[&str]) -> crate::env::Run {
    env.kb_env(args, &[("KB_MODEL", model.to_str().unwrap())])
}

/// The vectors file of the vault's index.
fn store(env: &TestEnv) -> PathBuf {
    env.vault.join(".kb/embeddings.bin")
}

#[test]
fn kb_model_check_loads_embeds_and_says_what_the_model_is() {
    let env = TestEnv::new();
    let model = tiny_model(&env.home.join("tiny"));
    let r = env.kb(&["model", "check", model.to_str().unwrap()]).ok();
    assert!(
        r.stdout
            .contains("BERT, 2 layers, 32 dimensions, mean pooling"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("loaded in"), "{}", r.stdout);
    assert!(r.stderr.contains("KB_MODEL"), "how to use it: {}", r.stderr);
    // kb's copy of the model (16-bit weights and the tokenizer's table) is written in the
    // user cache folder, named in the output, and read from the next time.
    let copies = env.home.join(".cache/kb/models");
    let copy = std::fs::read_dir(&copies)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        r.stdout.contains("kb's copy") && r.stdout.contains(copy.to_str().unwrap()),
        "{}",
        r.stdout
    );
    let again = env.kb(&["model", "check", model.to_str().unwrap()]).ok();
    assert!(
        again.stdout.contains(copy.to_str().unwrap()),
        "{}",
        again.stdout
    );
    // A damaged copy is written again; no cache folder to write in: the model's own files.
    std::fs::write(&copy, b"not a model").unwrap();
    let r = env.kb(&["model", "check", model.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("kb's copy"), "{}", r.stdout);
    assert!(std::fs::metadata(&copy).unwrap().len() > 1000);
    let not_a_folder = env.home.join("cache-file");
    std::fs::write(&not_a_folder, b"").unwrap();
    let r = env
        .kb_env(
            &["model", "check", model.to_str().unwrap()],
            &[("XDG_CACHE_HOME", not_a_folder.to_str().unwrap())],
        )
        .ok();
    assert!(r.stdout.contains("its own files"), "{}", r.stdout);
    assert!(r.stdout.contains("similar sentences"), "{}", r.stdout);
    // The configured one when no PATH is given.
    let r = with_model(&env, &model, &["model", "check"]).ok();
    assert!(r.stdout.contains("32 dimensions"), "{}", r.stdout);
    // Mistakes: nothing configured, a folder that is no model, a file, no action, two paths.
    let r = env.kb(&["model", "check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no model is configured"), "{}", r.stderr);
    let r = env.kb(&["model", "check", env.vault.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("config.json") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    let r = env.kb(&[
        "model",
        "check",
        model.join("config.json").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a folder"), "{}", r.stderr);
    let r = env.kb(&["model"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("check"), "{}", r.stderr);
    let r = env.kb(&["model", "check", "a", "b"]);
    assert_eq!(r.code, 2);
    r.no_panic();
    // Weights that do not fit the configuration: an error, no panic.
    std::fs::write(
        model.join("model.safetensors"),
        b"\x08\0\0\0\0\0\0\0{}      ",
    )
    .unwrap();
    let r = env.kb(&["model", "check", model.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not fit config.json"),
        "{}",
        r.stderr
    );
    r.no_panic();
}

#[test]
fn kb_index_embeds_new_and_changed_notes_only_and_drops_removed_ones() {
    let env = TestEnv::new();
    let model = tiny_model(&env.home.join("tiny"));
    vault_with_notes(&env);
    let r = with_model(&env, &model, &["index"]).ok();
    assert!(r.stderr.contains("3 notes embedded"), "{}", r.stderr);
    assert!(store(&env).is_file());
    // Nothing changed: nothing embedded, the file left as it is.
    let before = std::fs::read(store(&env)).unwrap();
    let r = with_model(&env, &model, &["index"]).ok();
    assert!(!r.stderr.contains("embedded"), "{}", r.stderr);
    assert_eq!(std::fs::read(store(&env)).unwrap(), before);
    // One note changed, one removed.
    let fan = env.read("hardware/fan.md").replace("BIOS", "firmware");
    env.write("hardware/fan.md", fan);
    std::fs::remove_file(env.path("printing/spooler.md")).unwrap();
    let r = with_model(&env, &model, &["index"]).ok();
    assert!(
        r.stderr.contains("1 note embedded") && r.stderr.contains("1 kept, 1 dropped"),
        "{}",
        r.stderr
    );
    // Without a model, `kb index` does not touch the vectors; `--rebuild` keeps them.
    let before = std::fs::read(store(&env)).unwrap();
    env.kb(&["index", "--rebuild"]).ok();
    assert_eq!(std::fs::read(store(&env)).unwrap(), before);
    let r = with_model(&env, &model, &["index", "--rebuild"]).ok();
    assert!(!r.stderr.contains("embedded"), "{}", r.stderr);
    // Another model: every note again.
    let other = tiny_model(&env.home.join("other"));
    std::fs::write(
        other.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 40}"#,
    )
    .unwrap();
    std::fs::write(
        other.join("config.json"),
        std::fs::read_to_string(other.join("config.json"))
            .unwrap()
            .replace("\"initializer_range\":0.02", "\"initializer_range\":0.03"),
    )
    .unwrap();
    let r = with_model(&env, &other, &["index"]).ok();
    assert!(r.stderr.contains("2 notes embedded"), "{}", r.stderr);
}

#[test]
fn typed_words_carry_a_semantic_score_and_pasted_errors_do_not() {
    let (env, model) = embedded_vault();
    let r = with_model(
        &env,
        &model,
        &["search", "--json", "--explain", "printer spooler stops"],
    )
    .ok();
    let hits = r.json();
    let first = &hits[0];
    assert_eq!(first["id"], "printing/spooler", "{}", r.stdout);
    let s = first["semantic"].as_f64().expect("a semantic score");
    assert!((-1.0..=1.0).contains(&s), "{s}");
    let weight = first["explain"]["semantic_weight"].as_f64().unwrap_or(0.0);
    assert!((weight - 0.6).abs() < 1e-6, "{weight}");
    let r = with_model(
        &env,
        &model,
        &["search", "--explain", "printer spooler stops"],
    )
    .ok();
    assert!(
        r.stdout.contains("semantic 0.") || r.stdout.contains("semantic -0."),
        "{}",
        r.stdout
    );
    // A pasted error with a code is ranked by its errors: no semantic score.
    let r = with_model(
        &env,
        &model,
        &[
            "search",
            "--json",
            "The Print Spooler service terminated unexpectedly. Error 0x800706b9",
        ],
    )
    .ok();
    assert_eq!(r.ids()[0], "printing/spooler");
    assert!(r.json()[0].get("semantic").is_none(), "{}", r.stdout);
    // Without a model (KB_MODEL empty wins over the configuration): no semantic score.
    let config = env.home.join(".config/kb/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, format!("model = {:?}\n", model.to_str().unwrap())).unwrap();
    let r = env.kb(&["search", "--json", "printer spooler stops"]).ok();
    assert!(
        r.json()[0].get("semantic").is_some(),
        "config.toml's model: {}",
        r.stdout
    );
    let r = env
        .kb_env(
            &["search", "--json", "printer spooler stops"],
            &[("KB_MODEL", "")],
        )
        .ok();
    assert!(r.json()[0].get("semantic").is_none(), "{}", r.stdout);
    let r = env.kb_env(&["config"], &[("KB_MODEL", "")]).ok();
    assert!(r.stdout.contains("KB_MODEL (empty: off)"), "{}", r.stdout);
}

#[test]
fn a_search_never_waits_for_vectors_and_starts_computing_them() {
    let (env, model) = embedded_vault();
    env.write(
        "network/vpn.md",
        note(
            "VPN drops on wifi",
            &["network"],
            &[],
            "Turn off power saving of the wifi card.",
        ),
    );
    // The new note is found at once, by its words, and said to be not embedded yet.
    let r = with_model(&env, &model, &["search", "--explain", "vpn drops wifi"]).ok();
    assert!(r.stdout.contains("network/vpn"), "{}", r.stdout);
    assert!(r.stdout.contains("not embedded yet"), "{}", r.stdout);
    // That search started a background `kb index`, which embeds it.
    let start = Instant::now();
    loop {
        let r = with_model(&env, &model, &["search", "--json", "vpn drops wifi"]).ok();
        let hits = r.json();
        let vpn = hits
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == "network/vpn")
            .cloned()
            .unwrap_or_else(|| panic!("the new note is found by its words: {}", r.stdout));
        if vpn.get("semantic").is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the note was never embedded: {}",
            r.stdout
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !env.vault.join(".kb/embeddings.claim").exists(),
        "the background run released its claim"
    );
}

#[test]
fn an_unusable_model_leaves_search_by_words_working() {
    let env = TestEnv::new();
    vault_with_notes(&env);
    let broken = env.home.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("config.json"), "{ not json").unwrap();
    // A pasted error never loads the model: no warning.
    let r = with_model(
        &env,
        &broken,
        &[
            "search",
            "The Print Spooler service terminated unexpectedly. Error 0x800706b9",
        ],
    )
    .ok();
    assert!(!r.stderr.contains("model"), "{}", r.stderr);
    // Typed words try it, say why it cannot be used, and answer by words.
    let r = with_model(&env, &broken, &["search", "--json", "laptop fan loud"]).ok();
    assert_eq!(r.ids()[0], "hardware/fan");
    assert!(
        r.stderr.contains("cannot be used") && r.stderr.contains("searching by words alone"),
        "{}",
        r.stderr
    );
    // `kb index` indexes the words, then fails on the model (exit 2), saying so.
    let r = with_model(&env, &broken, &["index"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("indexed by their words"), "{}", r.stderr);
    r.no_panic();
    assert!(!store(&env).exists());
}

#[test]
fn kb_mcp_ranks_typed_words_with_the_model_and_pasted_errors_without() {
    let (env, model) = embedded_vault();
    let out =
        crate::test_mcp::client_with(&env, "meaning", &[("KB_MODEL", model.to_str().unwrap())]);
    assert!(
        out.contains("a pasted error is ranked without the model"),
        "{out}"
    );
}

/// The real all-MiniLM-L6-v2: a question that shares no word with the note that answers it
/// finds it by meaning, and does not without the model.
#[test]
fn the_real_model_finds_a_note_by_meaning_without_shared_words() {
    let model = PathBuf::from(std::env::var_os("KB_TEST_MODEL").expect(
        "KB_TEST_MODEL names the all-MiniLM-L6-v2 folder (tests/run.sh fetches it: bash tests/fetch_model.sh)",
    ));
    let env = TestEnv::new();
    vault_with_notes(&env);
    env.write(
        "network/dns.md",
        note(
            "DNS server not responding",
            &["network"],
            &[],
            "Flush the resolver cache with ipconfig /flushdns and renew the lease.",
        ),
    );
    with_model(&env, &model, &["index"]).ok();
    let question = "e-mail client wants my login details repeatedly";
    let r = with_model(&env, &model, &["search", "--json", question]).ok();
    assert_eq!(r.ids()[0], "email/outlook-password", "{}", r.stdout);
    let r = env.kb_env(&["search", "--json", question], &[("KB_MODEL", "")]);
    assert!(
        r.code == 1 || r.ids().first().map(String::as_str) != Some("email/outlook-password"),
        "found without the model: {}",
        r.stdout
    );
}
