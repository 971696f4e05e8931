//! The error normaliser and log-prefix stripping.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let tokens = kb::normalize::normalize(&text);
    // Every token is one non-empty word without spaces (the index's key field splits on them).
    for t in &tokens {
        assert!(!t.text().is_empty() && !t.text().contains(char::is_whitespace), "{t:?}");
    }
    let _ = kb::normalize::join(&tokens);
    let _ = kb::normalize::normalize_paste(&text);
    let _ = kb::normalize::strip_log_prefix(&text);
});
