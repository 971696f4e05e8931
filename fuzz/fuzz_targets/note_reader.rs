//! The front-matter and markdown reader, and the byte-preserving edit behind `kb link`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let note = kb::note::Note::parse_bytes(data, "fuzz");
    let _ = note.fix_section();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(edited) = kb::frontmatter::append_error(text, "fuzzed error 0x80070005", "2026-01-01T00:00:00Z") {
            // An accepted edit must still read back with the new error in it.
            let again = kb::note::Note::parse(&edited, "fuzz");
            assert!(again.errors.iter().any(|e| e == "fuzzed error 0x80070005"));
        }
        let _ = kb::frontmatter::remove_keys(text, &["errors", "tags", "updated"]);
    }
});
