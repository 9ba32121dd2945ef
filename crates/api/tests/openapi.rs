//! The OpenAPI document is generated from the handlers; this snapshot makes every change to it a
//! visible diff in review, and checks the rules every operation must follow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[test]
fn snapshot_is_current() {
    let spec = api::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &spec).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        stored == spec,
        "the OpenAPI document changed: review it, then run `UPDATE_SNAPSHOTS=1 cargo test -p almacen-api --test openapi` and commit docs/openapi.json"
    );
}

#[test]
fn every_private_operation_declares_auth_and_problem_responses() {
    let spec: serde_json::Value = serde_json::from_str(&api::openapi().to_json().unwrap()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let public = ["/health/live", "/health/ready", "/api/v1/auth/login"];
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            if public.contains(&path.as_str()) {
                continue;
            }
            assert!(path.starts_with("/api/v1/"), "{path}");
            assert!(
                op["security"].is_array(),
                "{method} {path} declares no security"
            );
            assert!(
                responses.contains_key("401"),
                "{method} {path} declares no 401"
            );
            let problem = &responses["401"]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(problem, "#/components/schemas/Problem", "{method} {path}");
        }
    }
    assert!(operations >= 28, "{operations}");
}
