//! The symbol order of the release binary (`--symbol-order`): the service
//! runs under valgrind's callgrind, and the functions of the binary it
//! executed are written out busiest first, one linker symbol per line, for
//! `order-http/link/symbol-order.txt` (ADR 0014).
//!
//! Callgrind's output names each function once (`fn=(id) name`, later
//! `fn=(id)`), and counts the instructions of each source line under the
//! function it belongs to; a `calls=` line is followed by the inclusive
//! cost of that call, which belongs to the callee, not to the caller.

use std::collections::HashMap;
use std::path::Path;

use crate::Result;

/// The valgrind arguments that run `binary` under callgrind, its output in
/// `dir` (one file per process).
pub(crate) fn callgrind_args(dir: &Path, binary: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".to_owned(),
        // The linker's names, not the demangled ones.
        "--demangle=no".to_owned(),
        "--dump-instr=no".to_owned(),
        format!("--callgrind-out-file={}/callgrind.%p.out", dir.display()),
        binary.display().to_string(),
    ]
}

/// Instructions executed per function of the object whose path ends with
/// `object`, added up over the callgrind outputs in `dir`.
fn costs_in(dir: &Path, object: &str) -> Result<HashMap<String, u64>> {
    let mut costs = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "out") {
            add_costs(&std::fs::read_to_string(&path)?, object, &mut costs);
        }
    }
    Ok(costs)
}

/// Adds the self cost of each function of `object` in one callgrind output.
fn add_costs(output: &str, object: &str, costs: &mut HashMap<String, u64>) {
    let mut objects: HashMap<&str, &str> = HashMap::new();
    let mut functions: HashMap<&str, &str> = HashMap::new();
    let mut in_object = false;
    let mut function: Option<&str> = None;
    let mut call_cost_next = false;
    for line in output.lines() {
        if let Some((key, rest)) = line.split_once('=')
            && let Some((id, name)) = compressed(rest)
        {
            match key {
                "ob" | "cob" => {
                    let name = *objects.entry(id).or_insert(name);
                    if key == "ob" {
                        in_object = name.ends_with(object);
                    }
                }
                "fn" | "cfn" => {
                    let name = *functions.entry(id).or_insert(name);
                    if key == "fn" {
                        function = in_object.then_some(name);
                    }
                }
                _ => {}
            }
            continue;
        }
        if line.starts_with("calls=") {
            call_cost_next = true;
            continue;
        }
        let is_cost = line
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'+' || b == b'-' || b == b'*');
        if !is_cost {
            continue;
        }
        if std::mem::take(&mut call_cost_next) {
            continue;
        }
        let instructions = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok());
        if let (Some(function), Some(instructions)) = (function, instructions) {
            *costs
                .entry(without_recursion_mark(function).to_owned())
                .or_default() += instructions;
        }
    }
}

/// `(12) name` or `(12)`: the id, and the name when this line gives it.
fn compressed(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.strip_prefix('(')?;
    let (id, name) = rest.split_once(')')?;
    Some((id, name.trim_start()))
}

/// Callgrind marks recursion levels as `name'2`; the symbol is `name`.
fn without_recursion_mark(name: &str) -> &str {
    match name.rsplit_once('\'') {
        Some((symbol, level)) if level.bytes().all(|b| b.is_ascii_digit()) => symbol,
        _ => name,
    }
}

/// The functions in `costs` that ran at all, busiest first (ties by name,
/// so that the file does not change between runs for nothing).
fn ordered(costs: HashMap<String, u64>) -> Vec<String> {
    let mut ran: Vec<(String, u64)> = costs.into_iter().filter(|(_, c)| *c > 0).collect();
    ran.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ran.into_iter().map(|(name, _)| name).collect()
}

/// Writes the symbol order of `binary` from the callgrind outputs in `dir`
/// to `file`; returns how many functions it names.
pub(crate) fn write(dir: &Path, binary: &Path, file: &Path) -> Result<usize> {
    let object = binary
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or("the server binary has no file name")?;
    let symbols = ordered(costs_in(dir, object)?);
    if symbols.is_empty() {
        return Err(format!(
            "callgrind recorded no function of {object} in {}",
            dir.display()
        )
        .into());
    }
    let mut text = symbols.join("\n");
    text.push('\n');
    std::fs::write(file, text)?;
    Ok(symbols.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
version: 1
events: Ir
ob=(1) /usr/lib/libc.so.6
fn=(1) memcpy
0 500
ob=(2) /build/order-http
fn=(2) _ZN4core3fmt5write17hE
0 30
+2 10
cob=(1)
cfn=(1)
calls=3 0
0 900
fn=(3) _ZN5serde5parse17hE'2
0 70
fn=(2)
0 5
fn=(4) _ZN4init17hE
0 0
";

    #[test]
    fn functions_of_the_binary_are_named_busiest_first_by_their_own_instructions() {
        let mut costs = HashMap::new();
        add_costs(OUTPUT, "order-http", &mut costs);
        assert_eq!(costs.get("_ZN4core3fmt5write17hE"), Some(&45));
        assert_eq!(costs.get("_ZN5serde5parse17hE"), Some(&70));
        assert!(!costs.contains_key("memcpy"), "another object's function");
        assert_eq!(
            ordered(costs),
            ["_ZN5serde5parse17hE", "_ZN4core3fmt5write17hE"],
            "a function that never ran is left out"
        );
    }

    #[test]
    fn outputs_of_several_processes_add_up() {
        let mut costs = HashMap::new();
        add_costs(OUTPUT, "order-http", &mut costs);
        add_costs(OUTPUT, "order-http", &mut costs);
        assert_eq!(costs.get("_ZN4core3fmt5write17hE"), Some(&90));
    }

    #[test]
    fn a_recursion_mark_is_not_part_of_the_symbol() {
        assert_eq!(without_recursion_mark("_ZN1a17hE'12"), "_ZN1a17hE");
        assert_eq!(without_recursion_mark("_ZN1a17hE"), "_ZN1a17hE");
        assert_eq!(without_recursion_mark("it's"), "it's");
    }
}
