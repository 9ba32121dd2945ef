//! CUITs as people type them (with or without dashes): parsing never panics and a valid
//! CUIT prints back to a form that parses to the same CUIT.
#![no_main]

use domain::Cuit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cuit) = Cuit::parse(text) {
        assert_eq!(Cuit::parse(&cuit.to_string()), Ok(cuit));
    }
});
