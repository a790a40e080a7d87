//! Lays out the release binary's code in the order of
//! `link/symbol-order.txt`: the functions a running service executes, the
//! busiest first, packed together ahead of everything else (ADR 0014).
//! The kernel maps the binary's code in 64 KiB windows around each page
//! it runs; scattered across the whole text, the few thousand functions a
//! service runs kept most of it resident.
//!
//! Only for release builds on x86-64 Linux, where rustc links with its own
//! LLD, which reads the file. A name the build no longer has is skipped.

fn main() {
    println!("cargo::rerun-if-changed=link/symbol-order.txt");
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let target = |key: &str, value: &str| std::env::var(key).is_ok_and(|v| v == value);
    if release
        && target("CARGO_CFG_TARGET_OS", "linux")
        && target("CARGO_CFG_TARGET_ARCH", "x86_64")
    {
        let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
        println!(
            "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
