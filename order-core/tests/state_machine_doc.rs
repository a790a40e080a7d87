//! Keeps `docs/state-machine.md` honest: its two transition tables must list
//! exactly the rows of `order_table()` and `payment_table()`.

use std::collections::BTreeSet;
use std::fmt::{Display, Write as _};

use order_core::status::{Transition, order_table, payment_table};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/state-machine.md");

/// One table row as text: from, action and the targets in order.
type Row = (String, String, Vec<String>);

fn doc() -> String {
    std::fs::read_to_string(DOC_PATH).unwrap_or_else(|err| panic!("cannot read {DOC_PATH}: {err}"))
}

fn code_rows<S: Display + 'static, A: Display>(table: &[Transition<S, A>]) -> Vec<Row> {
    table
        .iter()
        .map(|row| {
            (
                row.from.to_string(),
                row.action.to_string(),
                row.to.iter().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(|cell| cell.trim().trim_matches('`').trim().to_owned())
        .collect()
}

/// The rows of the first table under the heading `heading`, up to the next
/// heading.
fn doc_rows(doc: &str, heading: &str) -> Vec<Row> {
    assert!(
        doc.lines().any(|line| line.trim() == heading),
        "{DOC_PATH} has no heading `{heading}`"
    );
    let mut lines = doc
        .lines()
        .skip_while(|line| line.trim() != heading)
        .skip(1)
        .take_while(|line| !line.starts_with('#'))
        .skip_while(|line| !line.trim_start().starts_with('|'))
        .take_while(|line| line.trim_start().starts_with('|'));

    let header = lines
        .next()
        .unwrap_or_else(|| panic!("no table under `{heading}` in {DOC_PATH}"));
    assert_eq!(
        cells(header),
        ["from", "action", "to"],
        "the table under `{heading}` must have the columns `from | action | to`"
    );
    let separator = lines.next().map(cells).unwrap_or_default();
    assert!(
        !separator.is_empty()
            && separator
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':'))),
        "the table under `{heading}` needs a `|---|---|---|` line under its header"
    );

    lines
        .map(|line| match cells(line).as_slice() {
            [from, action, to] => (
                from.clone(),
                action.clone(),
                to.split(',').map(|t| t.trim().to_owned()).collect(),
            ),
            other => panic!("a row under `{heading}` has not 3 cells: {other:?}"),
        })
        .collect()
}

fn render((from, action, to): &Row) -> String {
    format!("| {from} | {action} | {} |", to.join(", "))
}

fn assert_same_rows(heading: &str, code_fn: &str, documented: &[Row], code: &[Row]) {
    let mut seen = BTreeSet::new();
    let repeated: Vec<String> = documented
        .iter()
        .filter(|row| !seen.insert(*row))
        .map(render)
        .collect();
    assert!(
        repeated.is_empty(),
        "{DOC_PATH} lists these rows under `{heading}` more than once:\n{}",
        repeated.join("\n")
    );

    let documented: BTreeSet<&Row> = documented.iter().collect();
    let code: BTreeSet<&Row> = code.iter().collect();
    if documented == code {
        return;
    }
    let mut message = format!(
        "the table under `{heading}` in {DOC_PATH} differs from `{code_fn}`; \
         the code is the source of truth unless the doc describes the intended change\n"
    );
    for (title, rows) in [
        (
            "rows missing from the doc (in the code)",
            code.difference(&documented)
                .map(|row| render(row))
                .collect::<Vec<_>>(),
        ),
        (
            "rows missing from the code (in the doc)",
            documented
                .difference(&code)
                .map(|row| render(row))
                .collect(),
        ),
    ] {
        let _ = writeln!(message, "\n{title}:");
        if rows.is_empty() {
            let _ = writeln!(message, "(none)");
        }
        for row in rows {
            let _ = writeln!(message, "{row}");
        }
    }
    panic!("{message}");
}

#[test]
fn the_documented_order_table_matches_the_code() {
    let heading = "## Order transitions";
    assert_same_rows(
        heading,
        "order_table()",
        &doc_rows(&doc(), heading),
        &code_rows(&order_table()),
    );
}

#[test]
fn the_documented_payment_table_matches_the_code() {
    let heading = "## Payment transitions";
    assert_same_rows(
        heading,
        "payment_table()",
        &doc_rows(&doc(), heading),
        &code_rows(&payment_table()),
    );
}
