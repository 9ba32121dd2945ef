//! Amounts in the API form ("1234.56") and the Argentine printed form ("$ 1.234,56"): parsing
//! never panics or overflows, and what parses prints back to the same value.
#![no_main]

use domain::invoice::{format_ar_amount, parse_ar_money, parse_ar_qty};
use domain::{Money, Qty};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Money::parse(text) {
        assert_eq!(Money::parse(&m.to_string()), Ok(m));
    }
    if let Ok(m) = parse_ar_money(text) {
        assert_eq!(parse_ar_money(&format_ar_amount(m)), Ok(m));
    }
    if let Ok(q) = Qty::parse(text) {
        assert_eq!(Qty::parse(&q.to_string()), Ok(q));
    }
    let _ = parse_ar_qty(text);
});
