//! The user service: `GET /users/{userId}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::{Faults, Server};

#[derive(Default)]
pub struct Users {
    pub users: Mutex<HashMap<String, bool>>,
    pub faults: Arc<Faults>,
}

impl Users {
    pub fn add(&self, id: &impl ToString, active: bool) {
        self.users.lock().unwrap().insert(id.to_string(), active);
    }
}

async fn user(State(users): State<Arc<Users>>, Path(id): Path<String>) -> Response {
    if let Err(answer) = users.faults.apply("GET /users").await {
        return answer;
    }
    match users.users.lock().unwrap().get(&id) {
        Some(active) => super::json(
            200,
            json!({ "id": id, "email": "someone@example.com", "active": active }),
        ),
        None => super::json(404, json!({ "message": "user not found" })),
    }
}

/// The routes served, as `METHOD path`.
pub const ROUTES: &[&str] = &["GET /users/{id}"];

pub async fn start(users: Arc<Users>) -> Server {
    let faults = users.faults.clone();
    let router = Router::new()
        .route("/users/{id}", get(user))
        .with_state(users);
    Server::start(router, faults).await
}
