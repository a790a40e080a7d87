//! Compiles the vendored `proto/order.proto` with protox (pure Rust, so no
//! system `protoc` is needed) and generates the tonic server, the client and
//! the messages from its file descriptor set, which is also kept encoded for
//! server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/order.proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_imports(true)
        .include_source_info(true)
        .open_file("proto/order.proto")?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("order_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    // The client is generic over its transport: callers bring a channel.
    tonic_prost_build::configure()
        .build_transport(false)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
