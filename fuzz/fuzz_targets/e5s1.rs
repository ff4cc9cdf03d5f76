//! The E5S1 model container parser (what `xref model fetch` reads from a wheel): arbitrary
//! bytes are refused or parsed, never a panic or an allocation the input cannot back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = xref::model::e5s1::E5s1::parse(data);
});
