//! The Kubernetes manifests (`deploy/`), rendered per overlay by `kubectl
//! kustomize` as an operator renders them, and the rendered objects
//! checked: replicas and autoscaling per environment; probes on routes the
//! real binary answers, started with the overlay's own settings, policy file
//! and (test) secrets; only settings the binary reads; every secret key
//! documented in docs/operations.md; pods locked down.
//!
//! Without `kubectl` on `PATH` each test says so in one line and passes,
//! unless `ORDER_REQUIRE_KUBECTL` is set (CI sets it and installs Debian's
//! `kubectl`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Deserialize as _;
use serde_json::Value;

use crate::process::{Scratch, Server, http, repository};
use crate::settings::environment_variables;

const OVERLAYS: [&str; 2] = ["staging", "production"];

/// The objects one overlay renders to.
struct Rendered {
    overlay: &'static str,
    objects: Vec<Value>,
}

impl Rendered {
    /// `kubectl kustomize deploy/overlays/<overlay>`, or `None` (after one
    /// line saying why) when there is no kubectl and none is required.
    fn of(overlay: &'static str) -> Option<Self> {
        let dir = repository().join("deploy/overlays").join(overlay);
        let output = match Command::new("kubectl").arg("kustomize").arg(&dir).output() {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var_os("ORDER_REQUIRE_KUBECTL").is_none(),
                    "ORDER_REQUIRE_KUBECTL is set but kubectl is not on PATH"
                );
                eprintln!(
                    "deploy tests skipped: no kubectl on PATH (apt-get install kubectl renders the overlays)"
                );
                return None;
            }
            Err(error) => panic!("kubectl does not run: {error}"),
        };
        assert!(
            output.status.success(),
            "kubectl kustomize {overlay} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8 YAML");
        let objects = serde_yaml_ng::Deserializer::from_str(&text)
            .map(|document| Value::deserialize(document).expect("a YAML document"))
            .filter(|object| !object.is_null())
            .collect();
        Some(Self { overlay, objects })
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The one object of `kind`.
    fn one(&self, kind: &str) -> &Value {
        let all = self.all(kind);
        assert_eq!(all.len(), 1, "{}: one {kind}", self.overlay);
        all[0]
    }

    fn named(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{}: no {kind} named {name}", self.overlay))
    }

    fn pod(&self) -> &Value {
        &self.one("Deployment")["spec"]["template"]["spec"]
    }

    /// The service's container.
    fn container(&self) -> &Value {
        let containers = self.pod()["containers"].as_array().expect("containers");
        assert_eq!(containers.len(), 1, "{}: one container", self.overlay);
        &containers[0]
    }

    /// The container's environment entries.
    fn env(&self) -> &[Value] {
        self.container()["env"].as_array().expect("an env list")
    }

    /// The literal value the container gives `name`.
    fn literal(&self, name: &str) -> &str {
        self.env()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("{}: {name} has no literal value", self.overlay))
    }

    /// (secret, key) of every secret the pod reads.
    fn secret_keys(&self) -> Vec<(String, String)> {
        let mut keys = Vec::new();
        for entry in self.env() {
            let reference = &entry["valueFrom"]["secretKeyRef"];
            if !reference.is_null() {
                keys.push((text(&reference["name"]), text(&reference["key"])));
            }
        }
        for volume in self.pod()["volumes"].as_array().into_iter().flatten() {
            let secret = &volume["secret"];
            if secret.is_null() {
                continue;
            }
            let items = secret["items"].as_array().unwrap_or_else(|| {
                panic!(
                    "{}: secret volume {} names its keys (items)",
                    self.overlay, volume["name"]
                )
            });
            for item in items {
                keys.push((text(&secret["secretName"]), text(&item["key"])));
            }
        }
        keys
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"))
        .to_owned()
}

fn rendered() -> Option<Vec<Rendered>> {
    OVERLAYS.into_iter().map(Rendered::of).collect()
}

#[test]
fn production_runs_two_replicas_with_an_autoscaler_and_staging_one() {
    let Some(overlays) = rendered() else { return };
    for overlay in &overlays {
        let deployment = overlay.one("Deployment");
        let autoscalers = overlay.all("HorizontalPodAutoscaler");
        match overlay.overlay {
            "production" => {
                assert_eq!(deployment["spec"]["replicas"], 2);
                assert_eq!(autoscalers.len(), 1, "production scales automatically");
                let hpa = &autoscalers[0]["spec"];
                assert_eq!(hpa["scaleTargetRef"]["kind"], "Deployment");
                assert_eq!(
                    hpa["scaleTargetRef"]["name"],
                    deployment["metadata"]["name"]
                );
                assert_eq!(hpa["minReplicas"], 2, "never below two replicas");
                assert!(hpa["maxReplicas"].as_u64() > Some(2));
            }
            _ => {
                assert_eq!(deployment["spec"]["replicas"], 1);
                assert!(autoscalers.is_empty(), "staging runs one replica");
            }
        }
    }
}

#[test]
fn every_setting_the_manifests_give_is_one_the_binary_reads() {
    let Some(overlays) = rendered() else { return };
    let known = environment_variables();
    for overlay in &overlays {
        // `envFrom` would hide the names from review and from this test.
        assert!(
            overlay.container()["envFrom"].is_null(),
            "{}: settings are listed one by one in env",
            overlay.overlay
        );
        for entry in overlay.env() {
            let name = text(&entry["name"]);
            assert!(
                known.contains(&name),
                "{}: {name} is not a setting of order-http (README, Settings)",
                overlay.overlay
            );
        }
        let port = overlay
            .literal("ORDER_LISTEN")
            .rsplit_once(':')
            .map(|(_, port)| port.to_owned());
        assert_eq!(port.as_deref(), Some("8080"), "{}", overlay.overlay);
    }
}

#[test]
fn every_secret_key_the_manifests_reference_is_documented_in_operations() {
    let Some(overlays) = rendered() else { return };
    let doc = std::fs::read_to_string(repository().join("docs/operations.md"))
        .expect("docs/operations.md");
    for overlay in &overlays {
        let keys = overlay.secret_keys();
        for wanted in ["DATABASE_URL", "ORDER_WEBHOOK_SECRET"] {
            let entry = overlay
                .env()
                .iter()
                .find(|e| e["name"] == wanted)
                .unwrap_or_else(|| panic!("{}: {wanted} is set", overlay.overlay));
            assert!(
                !entry["valueFrom"]["secretKeyRef"].is_null(),
                "{}: {wanted} comes from a Secret",
                overlay.overlay
            );
        }
        assert!(
            keys.len() >= 3,
            "the database URL, the token key and the webhook secret"
        );
        for (secret, key) in keys {
            assert!(
                doc.lines().any(|line| line.contains(&format!("`{secret}`"))
                    && line.contains(&format!("`{key}`"))),
                "docs/operations.md has no line naming secret `{secret}` and its key `{key}`"
            );
        }
    }
}

#[test]
fn the_pods_run_as_a_user_on_a_read_only_root_without_privilege_escalation() {
    let Some(overlays) = rendered() else { return };
    for overlay in &overlays {
        let (pod, container) = (overlay.pod(), overlay.container());
        let at = overlay.overlay;
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{at}");
        assert!(
            pod["securityContext"]["runAsUser"].as_u64() > Some(0),
            "{at}: a numeric non-root user"
        );
        let context = &container["securityContext"];
        assert_eq!(context["readOnlyRootFilesystem"], true, "{at}");
        assert_eq!(context["allowPrivilegeEscalation"], false, "{at}");
        assert_ne!(context["privileged"], true, "{at}");
        assert_ne!(context["runAsNonRoot"], false, "{at}");
        assert_eq!(context["capabilities"]["drop"][0], "ALL", "{at}");
        // Writable only where the binary writes: an emptyDir, read-only
        // everything else.
        let volumes = pod["volumes"].as_array().expect("volumes");
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let volume = volumes
                .iter()
                .find(|v| v["name"] == mount["name"])
                .expect("a mounted volume");
            assert!(
                mount["readOnly"] == true || !volume["emptyDir"].is_null(),
                "{at}: {} is mounted writable",
                mount["mountPath"]
            );
        }
        let account = text(&pod["serviceAccountName"]);
        overlay.named("ServiceAccount", &account);
    }
}

#[test]
fn the_service_the_disruption_budget_and_the_policy_file_reach_the_pods() {
    let Some(overlays) = rendered() else { return };
    for overlay in &overlays {
        let at = overlay.overlay;
        let deployment = overlay.one("Deployment");
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        let selects = |selector: &Value| {
            selector
                .as_object()
                .expect("a selector")
                .iter()
                .all(|(key, value)| &labels[key] == value)
        };
        let service = overlay.one("Service");
        assert!(selects(&service["spec"]["selector"]), "{at}: the Service");
        let port = &service["spec"]["ports"][0];
        assert_eq!(port["port"], 8080, "{at}");
        let target = &overlay.container()["ports"]
            .as_array()
            .expect("container ports")
            .iter()
            .find(|p| p["name"] == port["targetPort"])
            .expect("the Service's target port is a named container port")["containerPort"];
        assert_eq!(target, &8080, "{at}");
        let budget = overlay.one("PodDisruptionBudget");
        assert!(
            selects(&budget["spec"]["selector"]["matchLabels"]),
            "{at}: the PodDisruptionBudget"
        );

        // ORDER_CONFIG names a key of a mounted ConfigMap.
        let config = overlay.literal("ORDER_CONFIG");
        let (directory, file) = config.rsplit_once('/').expect("a path");
        let mount = overlay.container()["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["mountPath"] == directory)
            .unwrap_or_else(|| panic!("{at}: nothing is mounted at {directory}"));
        let volume = overlay.pod()["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("the volume");
        let map = overlay.named("ConfigMap", &text(&volume["configMap"]["name"]));
        assert!(
            map["data"][file].is_string(),
            "{at}: the ConfigMap holds {file}"
        );
    }
}

/// The test's stand-ins for the Secrets the overlays reference.
fn secrets(database_url: &str) -> BTreeMap<(String, String), String> {
    let public_key = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rsa_public.pem"),
    )
    .expect("the RSA public key fixture");
    [
        ("order-service-database", "url", database_url.to_owned()),
        (
            "order-service-webhooks",
            "payment-webhook-secret",
            "deploy-test-webhook-secret".to_owned(),
        ),
        ("order-service-jwt", "public.pem", public_key),
    ]
    .into_iter()
    .map(|(name, key, value)| ((name.to_owned(), key.to_owned()), value))
    .collect()
}

/// The container's environment as the binary would see it in a pod: each
/// mounted volume materialized under `root` (ConfigMap files from the
/// rendered objects, Secret files from `secrets`), paths into mounts moved
/// there, secret references resolved from `secrets`.
fn environment(
    overlay: &Rendered,
    secrets: &BTreeMap<(String, String), String>,
    root: &Path,
) -> Vec<(String, String)> {
    let secret = |name: &str, key: &str| {
        secrets
            .get(&(name.to_owned(), key.to_owned()))
            .unwrap_or_else(|| panic!("no test value for secret {name}/{key}: add one here"))
            .clone()
    };
    let volumes = overlay.pod()["volumes"].as_array().expect("volumes");
    let mut moved = Vec::new();
    for mount in overlay.container()["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("a mounted volume");
        let directory = root.join(text(&volume["name"]));
        std::fs::create_dir_all(&directory).expect("a mount directory");
        if let Some(name) = volume["configMap"]["name"].as_str() {
            let map = overlay.named("ConfigMap", name);
            for (file, content) in map["data"].as_object().expect("data") {
                std::fs::write(directory.join(file), text(content)).expect("a file");
            }
        } else if let Some(name) = volume["secret"]["secretName"].as_str() {
            for item in volume["secret"]["items"].as_array().expect("items") {
                let path = directory.join(text(&item["path"]));
                std::fs::write(path, secret(name, &text(&item["key"]))).expect("a file");
            }
        }
        moved.push((
            text(&mount["mountPath"]),
            directory.to_string_lossy().into_owned(),
        ));
    }
    overlay
        .env()
        .iter()
        .map(|entry| {
            let name = text(&entry["name"]);
            let value = if let Some(value) = entry["value"].as_str() {
                moved
                    .iter()
                    .find_map(|(mount, local)| {
                        value
                            .strip_prefix(&format!("{mount}/"))
                            .map(|rest| format!("{local}/{rest}"))
                    })
                    .unwrap_or_else(|| value.to_owned())
            } else {
                let reference = &entry["valueFrom"]["secretKeyRef"];
                secret(&text(&reference["name"]), &text(&reference["key"]))
            };
            (name, value)
        })
        .collect()
}

#[test]
fn the_probes_are_routes_the_binary_answers_when_started_as_each_overlay_configures_it() {
    let Some(overlays) = rendered() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for overlay in &overlays {
        let at = overlay.overlay;
        let container = overlay.container();
        let probes: Vec<(&str, String)> = ["startupProbe", "livenessProbe", "readinessProbe"]
            .into_iter()
            .map(|probe| {
                let get = &container[probe]["httpGet"];
                assert_eq!(get["port"], "http", "{at}: {probe} asks the API port");
                (probe, text(&get["path"]))
            })
            .collect();
        assert_eq!(probes[1].1, "/health/live", "{at}: liveness");
        assert_eq!(probes[2].1, "/health/ready", "{at}: readiness");

        let Some(url) = runtime.block_on(order_store_postgres::testing::empty_database_url())
        else {
            return;
        };
        let root = Scratch::new(&format!("deploy-{at}"));
        let mut env = environment(overlay, &secrets(&url), root.path());
        // The pod's port is checked above; here a free one.
        env.retain(|(name, _)| name != "ORDER_LISTEN" && name != "ORDER_GRPC_ADDR");
        env.push(("ORDER_LISTEN".into(), "127.0.0.1:0".into()));
        env.push(("ORDER_GRPC_ADDR".into(), "127.0.0.1:0".into()));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let server = Server::start(&pairs);
        for (probe, path) in &probes {
            let (status, body) = http("GET", &format!("{}{path}", server.base), "", None);
            assert_eq!(status, 200, "{at}: {probe} {path}: {body}");
        }
        server.stop();
    }
}
