//! The binary's command line: help everywhere, users from the CLI, clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

fn almacen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["check", "--help"],
        vec!["import", "--help"],
        vec!["import", "products", "--help"],
        vec!["bench", "--help"],
        vec!["bench", "movements", "--help"],
    ] {
        let out = almacen(&args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    let serve = String::from_utf8_lossy(&almacen(&["serve", "--help"]).stdout).to_string();
    assert!(
        serve.contains("--listen") && serve.contains("--demo") && serve.contains("--database-url"),
        "{serve}"
    );
}

#[tokio::test]
async fn user_add_takes_the_password_from_env_or_stdin() {
    let url = common::fresh_database(common::Engine::Sqlite).await;
    let out = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "user",
            "add",
            "cajero",
            "--role",
            "cashier",
            "--database-url",
            &url,
        ])
        .env("ALMACEN_PASSWORD", "una-clave-suficiente")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cashier"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "user",
            "add",
            "gerente",
            "--role",
            "manager",
            "--database-url",
            &url,
        ])
        .env_remove("ALMACEN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"otra-clave-suficiente\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dup = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "user",
            "add",
            "cajero",
            "--role",
            "cashier",
            "--database-url",
            &url,
        ])
        .env("ALMACEN_PASSWORD", "una-clave-suficiente")
        .output()
        .unwrap();
    assert!(!dup.status.success());
    let short = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "user",
            "add",
            "corto",
            "--role",
            "cashier",
            "--database-url",
            &url,
        ])
        .env("ALMACEN_PASSWORD", "corta")
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("password"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    let role = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "user",
            "add",
            "rolmalo",
            "--role",
            "jefe",
            "--database-url",
            &url,
        ])
        .env("ALMACEN_PASSWORD", "una-clave-suficiente")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&role.stderr).contains("role"));
}

#[test]
fn unsupported_database_url_is_a_clear_error() {
    let out = almacen(&["migrate", "--database-url", "mysql://localhost/x"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sqlite://"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn demo_loads_once_and_prints_a_random_admin_password() {
    let dir = std::env::temp_dir().join(format!("almacen-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = almacen::config::Config {
        database_url: format!("sqlite://{}", dir.join("demo.db").display()),
        ..Default::default()
    };
    let wired = almacen::server::wire(&cfg, app::Clock::system())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let first = almacen::demo::load(&wired.app).await.unwrap();
    eprintln!("demo cargada en {:?}", started.elapsed());
    let login = first.login.expect("first load creates the admin");
    assert_eq!(login.username, "admin");
    assert!(login.password.len() >= 16);
    let second = almacen::demo::load(&wired.app).await.unwrap();
    assert!(second.login.is_none(), "the demo loads once");
    let sys = app::Principal::system();
    let products = wired
        .app
        .products(
            &sys,
            app::catalog::ProductQuery::default(),
            app::page::PageRequest::first(500),
        )
        .await
        .unwrap();
    assert_eq!(products.items.len(), 300);
    let kg = products
        .items
        .iter()
        .filter(|p| p.unit == domain::catalog::UnitOfMeasure::Kg)
        .count();
    assert!(kg > 20, "some products are sold by weight");
    let categories: std::collections::BTreeSet<_> =
        products.items.iter().map(|p| p.category.clone()).collect();
    assert_eq!(categories.len(), 8);
    let suppliers = wired
        .app
        .suppliers(&sys, app::page::PageRequest::first(100))
        .await
        .unwrap();
    assert!((10..=15).contains(&suppliers.items.len()));
    let report = wired.app.check_ledger(&sys).await.unwrap();
    assert!(report.ok && report.movements_checked > 900);
    // A year of sales at both stores, forecast once: every product × store has a series, the
    // methods differ by series, and there is something to buy.
    assert!(
        report.movements_checked > 100_000,
        "{}",
        report.movements_checked
    );
    let run = wired.app.latest_forecast_run(&sys).await.unwrap();
    assert_eq!(run.series, 600);
    assert!(run.method_mix.len() >= 3, "{:?}", run.method_mix);
    let suggestions = wired
        .app
        .replenishment_suggestions(&sys, app::forecast::SuggestionQuery::default())
        .await
        .unwrap();
    assert!(!suggestions.groups.is_empty());
    let critical = wired
        .app
        .critical_stock(&sys, app::stock::CriticalQuery::default())
        .await
        .unwrap();
    assert!(
        !critical.is_empty(),
        "the demo has some critical stock to show"
    );
    // A third party cannot log in with a guessable default.
    assert!(
        wired
            .app
            .login(app::auth::LoginInput {
                username: "admin".into(),
                password: "admin".into()
            })
            .await
            .is_err()
    );
    assert!(
        wired
            .app
            .login(app::auth::LoginInput {
                username: "admin".into(),
                password: login.password
            })
            .await
            .is_ok()
    );
}
