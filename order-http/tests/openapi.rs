//! `docs/openapi.json` is the document the service serves, byte for byte.
//! After changing the API, regenerate it with
//! `UPDATE_OPENAPI=1 cargo test -p order-http --test openapi`.

use order_http::openapi::ApiDoc;

#[test]
fn the_committed_openapi_document_matches_the_generated_one() {
    let generated = ApiDoc::json() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).expect("writing docs/openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p order-http --test openapi"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_every_route() {
    let doc: serde_json::Value = serde_json::from_str(&ApiDoc::json()).expect("valid JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/by-number/{number}",
        "/api/v1/orders/{id}/items",
        "/api/v1/orders/{id}/items/{line_id}",
        "/api/v1/orders/{id}/pay",
        "/api/v1/orders/{id}/cancel",
        "/api/v1/orders/{id}/processing",
        "/api/v1/orders/{id}/shipments",
        "/api/v1/orders/{id}/shipments/{shipment_id}/deliver",
        "/api/v1/orders/{id}/complete",
        "/api/v1/orders/{id}/returns",
        "/api/v1/orders/{id}/returns/{return_id}/receive",
        "/api/v1/orders/{id}/refunds",
        "/api/v1/orders/{id}/history",
        "/api/v1/orders/{id}/invoice",
        "/api/v1/orders/{id}/tracking",
        "/api/v1/orders/{id}/dry-run",
        "/api/v1/payments/events",
        "/api/v1/events",
        "/api/v1/reports",
        "/api/v1/products",
        "/api/v1/stock/{sku}",
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
}

/// The document, parsed.
fn document() -> serde_json::Value {
    serde_json::from_str(&ApiDoc::json()).expect("valid JSON")
}

/// `value`, or what its `$ref` points at in `doc`.
fn resolve<'a>(doc: &'a serde_json::Value, value: &'a serde_json::Value) -> &'a serde_json::Value {
    match value["$ref"].as_str() {
        Some(pointer) => {
            let target = doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling reference {pointer}"));
            resolve(doc, target)
        }
        None => value,
    }
}

/// A schema without its `null` alternative (`Option<T>` is `oneOf: [T, null]`).
fn non_null<'a>(
    doc: &'a serde_json::Value,
    schema: &'a serde_json::Value,
) -> &'a serde_json::Value {
    let schema = resolve(doc, schema);
    match schema["oneOf"].as_array() {
        Some(alternatives) => alternatives
            .iter()
            .find(|s| s["type"] != "null")
            .map_or(schema, |s| non_null(doc, s)),
        None => schema,
    }
}

/// Every operation: (method, path, operation).
fn operations(doc: &serde_json::Value) -> Vec<(String, String, &serde_json::Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            found.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    found
}

#[test]
fn every_api_operation_documents_the_problems_the_layers_answer() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        if !path.starts_with("/api/") {
            continue;
        }
        let responses = operation["responses"].as_object().expect("responses");
        let mut expected = vec!["400", "500", "503"];
        if operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
        {
            expected.push("401");
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["408", "413"]);
            // The webhook reads its raw body (to check the signature over
            // it) whatever the content type.
            if operation["operationId"] != "payment_event" {
                expected.push("415");
            }
        }
        for status in expected {
            assert!(
                responses.contains_key(status),
                "{method} {path} does not document {status}"
            );
        }
    }
}

#[test]
fn every_error_response_is_a_problem_document() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            // Health answers 503 with its own body: not ready is not an error.
            if !status.starts_with(['4', '5']) || path.starts_with("/health") {
                continue;
            }
            let content = resolve(&doc, response)["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} {status} has no content"));
            let types: Vec<&String> = content.keys().collect();
            assert_eq!(
                types,
                ["application/problem+json"],
                "{method} {path} {status}"
            );
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
    }
}

/// `id` and `…_id` name UUIDs everywhere but here: the payment service's
/// own event id is its text.
const NOT_UUIDS: &[(&str, &str)] = &[("PaymentEventRequestBody", "id")];

fn names_an_id(name: &str) -> bool {
    name == "id" || name.ends_with("_id")
}

fn is_uuid(doc: &serde_json::Value, schema: &serde_json::Value) -> bool {
    let schema = non_null(doc, schema);
    schema["type"] == "string" && schema["format"] == "uuid"
}

#[test]
fn every_id_parameter_and_property_is_a_uuid() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().expect("parameter name");
            if names_an_id(name) {
                assert!(
                    is_uuid(&doc, &parameter["schema"]),
                    "{method} {path}: parameter {name} is not format: uuid"
                );
            }
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut checked = 0;
    for (schema_name, schema) in schemas {
        // A tagged enum's variants are objects of their own.
        let objects: Vec<&serde_json::Value> = match schema["oneOf"].as_array() {
            Some(variants) => variants.iter().collect(),
            None => vec![schema],
        };
        for object in objects {
            for (name, property) in object["properties"].as_object().into_iter().flatten() {
                if !names_an_id(name) || NOT_UUIDS.contains(&(schema_name.as_str(), name.as_str()))
                {
                    continue;
                }
                assert!(
                    is_uuid(&doc, property),
                    "{schema_name}.{name} is not format: uuid"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} id properties found");
}

#[test]
fn the_ids_the_engine_mints_are_uuid_v7_in_every_path() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] != "path" {
                continue;
            }
            let name = parameter["name"].as_str().expect("parameter name");
            if names_an_id(name) {
                assert_eq!(
                    parameter["schema"]["$ref"], "#/components/schemas/Uuid7",
                    "{method} {path}: {name}"
                );
            }
        }
    }
}

#[test]
fn no_schema_is_a_json_number_money_is_a_decimal_string() {
    let doc = document();
    let text = doc.to_string();
    assert!(
        !text.contains(r#""type":"number""#) && !text.contains(r#""number","null""#),
        "a schema is a JSON number"
    );
    let decimal = &doc["components"]["schemas"]["Decimal"];
    assert_eq!(decimal["type"], "string");
    assert!(decimal["pattern"].is_string());
    for (schema, property) in [
        ("TotalsBody", "total"),
        ("LineBody", "unit_price"),
        ("PaymentsBody", "refundable"),
        ("RefundRequestBody", "amount"),
        ("ProductBody", "unit_price"),
        ("InvoiceBody", "due"),
    ] {
        let found = &doc["components"]["schemas"][schema]["properties"][property];
        assert_eq!(
            found["$ref"], "#/components/schemas/Decimal",
            "{schema}.{property}"
        );
    }
}
