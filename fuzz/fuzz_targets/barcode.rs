//! Barcodes as scanners type them, and the scale labels inside some of them: parsing never
//! panics, a parsed code prints back to itself, and a scale reading is decoded only from
//! codes that carry a scale prefix.
#![no_main]

use domain::Gtin;
use domain::sale::{ScaleFormat, decode_scale};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = Gtin::parse(text) {
        let printed = code.to_string();
        assert_eq!(Gtin::parse(&printed).map(|g| g.to_string()), Ok(printed));
        let format = ScaleFormat::default();
        if let Some(reading) = decode_scale(&code, &format) {
            assert!(code.is_scale_prefix(20..=29), "{reading:?} from {code}");
        }
    }
});
