//! Query handling: what a pasted query becomes before it reaches the index, and the secret
//! scanner that pasted text goes through.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let p = kb::search::prepare(&text);
    assert!(p.words.len() <= 96 && p.key_tokens.len() <= 96);
    let found = kb::secrets::find(&text);
    let _ = kb::secrets::redact(&text, &found);
    for f in &found {
        let _ = f.preview(&text);
    }
});
