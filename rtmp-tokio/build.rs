//! Links this crate's examples, the relay server among them, with the code a relayed frame
//! runs through laid out together (`examples/server/hot-path.ld`, written by
//! `tests/bench/hot-path-layout.py`). A server that wakes for every frame finds that code
//! evicted by the rest of the machine and fetches it again each time; the same lines cost
//! less side by side on a few pages than scattered over many (docs/fanout-window-zero.md).
//! Only the examples get it, on Linux; `RTMP_HOT_PATH_LAYOUT=0` turns it off, for a linker
//! that takes no linker script (mold). A binary of one's own can take the same file with
//! `-C link-arg=-Wl,-T,<path>/hot-path.ld`.

use std::env;
use std::path::Path;

fn main() {
    let script = Path::new("examples/server/hot-path.ld");
    println!("cargo::rerun-if-changed={}", script.display());
    println!("cargo::rerun-if-env-changed=RTMP_HOT_PATH_LAYOUT");
    let linux = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let wanted = env::var("RTMP_HOT_PATH_LAYOUT").map_or(true, |value| value != "0");
    if linux && wanted {
        let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        let script = Path::new(&dir).join(script);
        println!("cargo::rustc-link-arg-examples=-Wl,-T,{}", script.display());
    }
}
