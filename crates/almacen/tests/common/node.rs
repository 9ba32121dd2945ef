//! Real `almacen serve` child processes for black-box tests: start, wait until ready, SIGKILL,
//! restart on the same port and database.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub struct Node {
    child: Option<Child>,
    pub base: String,
    pub port: u16,
    pub database_url: String,
    pub log: PathBuf,
    env: Vec<(String, String)>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Creates a user with the CLI on the database.
pub fn add_user(database_url: &str, name: &str, role: &str, password: &str) {
    let add = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--database-url",
            database_url,
        ])
        .env("ALMACEN_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
}

/// Logs in and returns the session token.
pub async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {r}"))
        .to_owned()
}

impl Node {
    /// Starts a node on a free port with extra `ALMACEN_*` environment, and waits until ready.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Node {
        let mut node = Node {
            child: None,
            base: String::new(),
            port: free_port(),
            database_url: database_url.to_owned(),
            log: std::env::temp_dir()
                .join("almacen-tests")
                .join(format!("node-{}.log", uuid::Uuid::new_v4().simple())),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        node.base = format!("http://127.0.0.1:{}", node.port);
        node.restart().await;
        node
    }

    /// (Re)starts the process on the same port and database and waits until it is ready.
    pub async fn restart(&mut self) {
        self.kill();
        std::fs::create_dir_all(self.log.parent().unwrap()).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_almacen"));
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--metrics-listen",
            "",
            "--database-url",
            &self.database_url,
        ])
        .env("ALMACEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().unwrap());
        for _ in 0..400 {
            if let Ok(r) = reqwest::get(format!("{}/health/ready", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "node on {} exited with {status}: {}",
                    self.base,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "node on {} did not become ready: {}",
            self.base,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// SIGKILL: no shutdown hook runs, in-flight requests die with the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
