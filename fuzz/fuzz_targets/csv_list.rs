//! Supplier price lists and product imports arrive as CSV from anywhere: reading one never
//! panics, whatever the bytes, delimiters, quotes or encodings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = app::price_lists::read_csv(data) {
        let _ = format!("{table:?}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = app::price_lists::parse_list_cost(text);
    }
});
