//! A service that is not told how to run refuses to start, saying what is
//! missing and how to give it, instead of running on a guess.

use crate::process::{Scratch, run_to_exit};

fn refusal(env: &[(&str, &str)]) -> String {
    let output = run_to_exit(env);
    assert!(
        !output.status.success(),
        "the binary started: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn without_dev_and_without_a_payment_choice_the_binary_exits_saying_how_to_choose() {
    let stderr = refusal(&[
        ("ORDER_JWT_SECRET", "a-secret"),
        ("ORDER_CONFIG", "config/sample.toml"),
    ]);
    assert!(stderr.contains("--payments simulated"), "{stderr}");
    assert!(stderr.contains("--payments external"), "{stderr}");
    assert!(stderr.contains("--dev"), "{stderr}");
    assert!(
        !stderr.contains("policy file"),
        "only what is missing: {stderr}"
    );
}

#[test]
fn with_no_settings_at_all_every_missing_one_is_named() {
    let stderr = refusal(&[]);
    for missing in ["a payment mode", "a policy file", "a token key"] {
        assert!(stderr.contains(missing), "{missing} in: {stderr}");
    }
}

#[test]
fn a_bad_policy_file_stops_the_start_naming_the_key_and_the_rule() {
    let scratch = Scratch::new("bad-policy");
    let file = scratch.path().join("policy.toml");
    std::fs::write(&file, "[[tax]]\nclass = \"standard\"\nrate = \"120\"\n").expect("written");
    let file = file.to_string_lossy();
    let data_dir = scratch.path().to_string_lossy();
    let stderr = refusal(&[
        ("ORDER_DEV", "true"),
        ("ORDER_CONFIG", &file),
        ("ORDER_DATA_DIR", &data_dir),
    ]);
    assert!(stderr.contains("tax[0].rate"), "{stderr}");
    assert!(stderr.contains("between 0 and 100"), "{stderr}");
}

#[test]
fn the_payment_service_adapter_without_its_url_stops_the_start_naming_the_setting() {
    let stderr = refusal(&[
        ("ORDER_JWT_SECRET", "a-secret"),
        ("ORDER_CONFIG", "config/sample.toml"),
        ("ORDER_PAYMENTS", "http"),
    ]);
    assert!(stderr.contains("--payment-service-url"), "{stderr}");
    assert!(stderr.contains("PAYMENT_SERVICE_URL"), "{stderr}");
}

#[test]
fn a_remote_service_url_that_is_not_http_stops_the_start_naming_the_setting() {
    let scratch = Scratch::new("bad-service-url");
    let data_dir = scratch.path().to_string_lossy();
    let stderr = refusal(&[
        ("ORDER_DEV", "true"),
        ("ORDER_DATA_DIR", &data_dir),
        ("USER_SERVICE_URL", "users.internal:8080"),
    ]);
    assert!(stderr.contains("--user-service-url"), "{stderr}");
    assert!(stderr.contains("http(s)://"), "{stderr}");
}

#[test]
fn kafka_events_without_brokers_stop_the_start_naming_the_setting() {
    let scratch = Scratch::new("kafka-no-brokers");
    let data_dir = scratch.path().to_string_lossy();
    let stderr = refusal(&[
        ("ORDER_DEV", "true"),
        ("ORDER_DATA_DIR", &data_dir),
        ("ORDER_EVENTS", "kafka"),
    ]);
    assert!(stderr.contains("--kafka-brokers"), "{stderr}");
}
