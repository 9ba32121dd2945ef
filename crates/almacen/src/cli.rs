//! Command-line interface: `serve`, `migrate`, `user add`, `check`, `import products`,
//! `forecast`, `invoices scan`, `bench` (`movements`, `pos`, `pricing`, `forecast`, `ocr`).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, LogFormat};

#[derive(Parser, Debug)]
#[command(
    name = "almacen",
    version,
    about = "Inventario y back office para comercios argentinos: de un almacén a una cadena con depósito."
)]
pub struct Cli {
    /// Configuration file (optional; ALMACEN_* variables override it, flags override both).
    #[arg(long, global = true, default_value = "almacen.toml")]
    pub config: PathBuf,
    /// Database: sqlite://FILE (default sqlite://almacen.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the HTTP API (migrations run first).
    Serve(ServeArgs),
    /// Applies pending database migrations and exits.
    Migrate,
    /// Manages users.
    #[command(subcommand)]
    User(UserCommand),
    /// Replays the stock ledger and compares it with the on-hand projection; exits 1 on any difference.
    Check(CheckArgs),
    /// Imports data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Writes a verified backup archive (database, manifest with SHA-256, row counts, checksums).
    Backup(BackupArgs),
    /// Verifies a backup archive and restores it into an empty database (--database-url).
    Restore(RestoreArgs),
    /// Load benchmarks against a running node or one started on a fresh database.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Demand forecast: without a subcommand, runs it now on the database (as the nightly
    /// agent does); `evaluate` and `predict` work on any history file.
    Forecast(ForecastArgs),
    /// Supplier invoices (AFIP): reading scans and PDFs without touching the database.
    #[command(subcommand)]
    Invoices(InvoicesCommand),
    /// The tamper-evident audit log: `seal` chains new entries now, `verify` walks the chain.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Chains the audit entries not sealed yet (a running node does it every few seconds).
    Seal,
    /// Walks the sealed chain; exits 1 naming the first edited or deleted entry.
    Verify(CheckArgs),
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastArgs {
    #[command(subcommand)]
    pub command: Option<ForecastCommand>,
}

#[derive(Subcommand, Debug)]
pub enum ForecastCommand {
    /// Rolling-origin backtest of a long-format CSV (series_id,date,quantity; daily or weekly;
    /// an empty quantity is a censored period): WAPE and MASE per method and for the
    /// automatic per-series selection.
    Evaluate(ForecastFileArgs),
    /// Forecasts and prediction intervals of the selected method per series and date, as CSV.
    Predict(ForecastPredictArgs),
}

#[derive(Args, Debug)]
pub struct ForecastFileArgs {
    #[arg(long)]
    pub input: PathBuf,
    /// Periods ahead (days, or weeks for weekly data).
    #[arg(long, default_value_t = 28)]
    pub horizon: usize,
    /// Prints the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ForecastPredictArgs {
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, default_value_t = 28)]
    pub horizon: usize,
    /// Output file (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum InvoicesCommand {
    /// Reads invoice files (JPEG, PNG, TIFF, PDF) and prints one JSON line per file: fields,
    /// values, confidences, sources and check results. Posts nothing.
    Scan(InvoiceScanArgs),
}

#[derive(Args, Debug)]
pub struct InvoiceScanArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The shop's CUIT, for the "receiver is us" check.
    #[arg(long)]
    pub our_cuit: Option<String>,
    /// Skips deskewing (to measure what it buys).
    #[arg(long)]
    pub no_deskew: bool,
    /// Binarises (Otsu) before OCR (to measure what it buys; off by default).
    #[arg(long)]
    pub binarise: bool,
    /// Always applies a 3×3 median despeckle.
    #[arg(long)]
    pub despeckle: bool,
    /// Never despeckles, not even noisy pages.
    #[arg(long)]
    pub no_auto_despeckle: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Loads a demo mini-market (once) and prints the admin login it created.
    #[arg(long)]
    pub demo: bool,
    /// Address of the Prometheus /metrics listener (default 127.0.0.1:9464; "" disables it).
    #[arg(long)]
    pub metrics_listen: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Creates a user; the password comes from ALMACEN_PASSWORD or standard input.
    Add(UserAddArgs),
}

#[derive(Args, Debug)]
pub struct UserAddArgs {
    /// Login name (3–64 of a-z, 0-9, '.', '_', '-').
    pub name: String,
    /// admin | manager | cashier | warehouse | viewer
    #[arg(long)]
    pub role: String,
    /// Location codes the user may act on, comma separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub locations: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Prints the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Folder the archive is written to.
    #[arg(long, default_value = "backups")]
    pub output: PathBuf,
    /// Name of an environment variable holding a passphrase to encrypt the archive with.
    #[arg(long)]
    pub passphrase_env: Option<String>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    pub archive: PathBuf,
    /// Name of an environment variable holding the archive's passphrase.
    #[arg(long)]
    pub passphrase_env: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Imports products from a CSV file (columns: sku,name,category,brand,unit,barcodes,cost,price,vat_rate[,active]).
    Products(ImportProductsArgs),
}

#[derive(Args, Debug)]
pub struct ImportProductsArgs {
    pub file: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// N clients posting single stock movements; prints movements/s and p50/p95/p99.
    Movements(BenchArgs),
    /// N tills posting 3-line cash tickets with hot products; on PostgreSQL also runs pgbench TPC-B for comparison.
    Pos(BenchPosArgs),
    /// Seeds N products on a fresh database and times the preview and the atomic apply of a
    /// bulk price increase over all of them (targets: preview ≤ 1 s, apply ≤ 5 s).
    Pricing(BenchPricingArgs),
    /// Generated demand (default 100,000 series × 730 days): full backtest and selection;
    /// prints time, peak memory and WAPE/MASE per method and for the selection.
    Forecast(BenchForecastArgs),
    /// Generates synthetic AFIP invoices with known content and reads them back: field-level
    /// accuracy per field and per degradation, and invoices per second.
    Ocr(BenchOcrArgs),
    /// A chain's day against one or more nodes (tickets 45 %, lookups 30 %, receipts 8 %,
    /// transfers 5 %, price changes 4 %, critical-stock reports 4 %, other 4 %), with the
    /// baselines of this machine and the proof: nothing oversold, no drift, ledger consistent.
    RetailDay(BenchRetailDayArgs),
    /// Server time (p50/p95/max) and weight of every dashboard page on 100,000 products and
    /// 10,000,000 movements; exit 1 when a page's p95 exceeds 50 ms or it weighs over 200 KB.
    Pages(BenchPagesArgs),
}

#[derive(Args, Debug)]
pub struct BenchPagesArgs {
    #[arg(long, default_value_t = 100_000)]
    pub products: i64,
    #[arg(long, default_value_t = 10_000_000)]
    pub movements: i64,
    /// Requests per page (after two warm-up requests).
    #[arg(long, default_value_t = 30)]
    pub requests: usize,
    /// SQLite file to reuse; built there (and kept) when it does not exist yet.
    #[arg(long)]
    pub reuse: Option<PathBuf>,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchRetailDayArgs {
    /// A running node; repeat for several nodes (tills are spread over them). Without it a
    /// node is started in-process on --database-url (default: a fresh temporary SQLite file).
    #[arg(long = "url")]
    pub urls: Vec<String>,
    /// User to log in with on the nodes (password in ALMACEN_PASSWORD).
    #[arg(long, default_value = "admin")]
    pub username: String,
    #[arg(long, default_value_t = 3)]
    pub stores: usize,
    #[arg(long, default_value_t = 10)]
    pub tills_per_store: usize,
    /// Products in the catalogue; 1 % of them are hot and start short on the shelves.
    #[arg(long, default_value_t = 1000)]
    pub products: usize,
    /// Seconds the day lasts at most.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Operations to send at most.
    #[arg(long, default_value_t = 5_000_000)]
    pub operations: u64,
    /// Seconds each baseline runs.
    #[arg(long, default_value_t = 5)]
    pub baseline_seconds: u64,
    /// Only POS tickets, with every product stocked: the POS workload, spread over the
    /// nodes, for its ratio to pgbench.
    #[arg(long)]
    pub tickets_only: bool,
    /// PostgreSQL URL for the pgbench baseline when the nodes run elsewhere (--url).
    #[arg(long)]
    pub pgbench_url: Option<String>,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchPricingArgs {
    /// Products to seed and update.
    #[arg(long, default_value_t = 100_000)]
    pub products: usize,
    /// Cost increase in percent.
    #[arg(long, default_value = "8.5")]
    pub percent: String,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchForecastArgs {
    #[arg(long, default_value_t = 100_000)]
    pub series: u64,
    #[arg(long, default_value_t = 730)]
    pub days: usize,
    #[arg(long, default_value_t = 28)]
    pub horizon: usize,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchOcrArgs {
    /// Invoices to generate (spread over every degradation, letter and layout).
    #[arg(long, default_value_t = 60)]
    pub count: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Invoices read in parallel (one Tesseract per thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Skips deskewing (to measure what it buys).
    #[arg(long)]
    pub no_deskew: bool,
    /// Binarises (Otsu) before OCR (to measure what it buys; off by default).
    #[arg(long)]
    pub binarise: bool,
    /// Always applies a 3×3 median despeckle.
    #[arg(long)]
    pub despeckle: bool,
    /// Never despeckles, not even noisy pages.
    #[arg(long)]
    pub no_auto_despeckle: bool,
    /// Only writes the generated invoices (image and known content as JSON) to this folder,
    /// without reading them.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchPosArgs {
    #[command(flatten)]
    pub common: BenchArgs,
    /// PostgreSQL URL for the pgbench baseline when the node runs elsewhere (--url).
    #[arg(long)]
    pub pgbench_url: Option<String>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Base URL of a running node; without it a node is started in-process on --database-url
    /// (default: a fresh temporary SQLite file).
    #[arg(long)]
    pub url: Option<String>,
    /// User to log in with when --url is given (password in ALMACEN_PASSWORD).
    #[arg(long, default_value = "admin")]
    pub username: String,
    /// Concurrent clients (tills for `pos`).
    #[arg(long, alias = "tills", default_value_t = 50)]
    pub clients: usize,
    /// Seconds to run at most.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Requests to send at most.
    #[arg(long, default_value_t = 200_000)]
    pub requests: u64,
    /// Products to spread the load over (default 200 for movements, 1000 for pos: 1 % of
    /// them, the hot ones, take about 30 % of the ticket lines).
    #[arg(long)]
    pub products: Option<usize>,
    /// Also writes the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn init_logging(format: &LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ALMACEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: no se pudo iniciar el runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(&cli.config)?;
    if let Some(url) = &cli.database_url {
        cfg.database_url = url.clone();
    }
    match cli.command {
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                cfg.listen = listen;
            }
            if let Some(listen) = args.metrics_listen {
                cfg.metrics_listen = listen;
            }
            init_logging(&cfg.log_format);
            serve(cfg, args.demo).await
        }
        Command::Migrate => {
            crate::server::wire(&cfg, app::Clock::system()).await?;
            println!("migraciones aplicadas en {}", cfg.normalised_database_url());
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Add(args)) => user_add(cfg, args).await,
        Command::Check(args) => check(cfg, args).await,
        Command::Audit(AuditCommand::Seal) => crate::audit::seal(&cfg).await,
        Command::Audit(AuditCommand::Verify(args)) => crate::audit::verify(&cfg, args.json).await,
        Command::Import(ImportCommand::Products(args)) => import_products(cfg, args).await,
        Command::Backup(args) => {
            let passphrase = passphrase(args.passphrase_env.as_deref())?;
            let out = crate::backup::backup(&cfg, &args.output, passphrase.as_deref()).await?;
            println!(
                "copia escrita: {} ({} bytes, sha256 {})",
                out.path.display(),
                out.bytes,
                out.sha256
            );
            println!(
                "esquema {}, {} movimientos de stock, {} productos",
                out.manifest.schema_version,
                out.manifest
                    .row_counts
                    .get("stock_movements")
                    .copied()
                    .unwrap_or(0),
                out.manifest
                    .row_counts
                    .get("products")
                    .copied()
                    .unwrap_or(0)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore(args) => {
            let passphrase = passphrase(args.passphrase_env.as_deref())?;
            let out = crate::backup::restore(&cfg, &args.archive, passphrase.as_deref()).await?;
            println!(
                "restaurada la copia del {} (esquema {}): filas y sumas de control coinciden; libro de stock {}",
                out.manifest.created_at,
                out.manifest.schema_version,
                if out.ledger_ok {
                    "consistente"
                } else {
                    "CON DIFERENCIAS"
                }
            );
            Ok(if out.ledger_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Forecast(args) => forecast(cfg, args).await,
        Command::Bench(BenchCommand::Forecast(args)) => {
            let report = tokio::task::spawn_blocking(move || {
                crate::forecast::bench(args.series, args.days.max(1), args.horizon.max(1))
            })
            .await?;
            report.print();
            if let Some(path) = args.json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("escribiendo {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoices(InvoicesCommand::Scan(args)) => invoices_scan(args),
        Command::Bench(BenchCommand::Ocr(args)) => bench_ocr(args),
        Command::Bench(BenchCommand::RetailDay(args)) => {
            let day = crate::bench_retail::RetailDay {
                urls: args.urls,
                target: crate::bench::BenchTarget {
                    url: None,
                    database_url: cli.database_url.clone(),
                    username: args.username,
                    password: std::env::var("ALMACEN_PASSWORD").ok(),
                },
                stores: args.stores.max(1),
                tills_per_store: args.tills_per_store.max(1),
                products: args.products,
                seconds: args.seconds,
                max_operations: args.operations,
                pgbench_url: args.pgbench_url,
                baseline_seconds: args.baseline_seconds,
                tickets_only: args.tickets_only,
            };
            let report = crate::bench_retail::run(day).await?;
            report.print();
            if let Some(path) = args.json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("escribiendo {}", path.display()))?;
            }
            Ok(if report.holds() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Bench(BenchCommand::Pages(args)) => {
            let report = crate::bench_pages::run(crate::bench_pages::PagesArgs {
                products: args.products.max(4),
                movements: args.movements.max(1),
                requests: args.requests.max(1),
                reuse: args.reuse,
                database_url: cli.database_url.clone(),
            })
            .await?;
            report.print();
            if let Some(path) = args.json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("escribiendo {}", path.display()))?;
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Bench(cmd) => {
            let (args, report) = match cmd {
                BenchCommand::Ocr(_) | BenchCommand::RetailDay(_) | BenchCommand::Pages(_) => {
                    unreachable!("handled above")
                }
                BenchCommand::Pricing(args) => {
                    return bench_pricing(args, cli.database_url.clone()).await;
                }
                BenchCommand::Movements(args) => {
                    let (target, load) = bench_setup(&args, cli.database_url.clone());
                    let report =
                        crate::bench::movements(target, load, args.products.unwrap_or(200).max(1))
                            .await?;
                    (args, report)
                }
                BenchCommand::Pos(pos) => {
                    let (target, load) = bench_setup(&pos.common, cli.database_url.clone());
                    let report = crate::bench::pos(
                        target,
                        load,
                        pos.common.products.unwrap_or(1000).max(1),
                        pos.pgbench_url,
                    )
                    .await?;
                    (pos.common, report)
                }
                BenchCommand::Forecast(_) => bail!("bench forecast no usa un nodo"),
            };
            report.print();
            if let Some(path) = args.json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("escribiendo {}", path.display()))?;
            }
            Ok(if report.ledger_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn passphrase(var: Option<&str>) -> anyhow::Result<Option<String>> {
    match var {
        None => Ok(None),
        Some(v) => match std::env::var(v) {
            Ok(p) if !p.is_empty() => Ok(Some(p)),
            _ => bail!("la variable de entorno {v} no tiene la frase de cifrado"),
        },
    }
}

async fn bench_pricing(
    args: BenchPricingArgs,
    database_url: Option<String>,
) -> anyhow::Result<ExitCode> {
    let report = crate::bench::pricing(database_url, args.products.max(1), &args.percent).await?;
    report.print();
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("escribiendo {}", path.display()))?;
    }
    Ok(if report.meets_targets() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn bench_setup(
    args: &BenchArgs,
    database_url: Option<String>,
) -> (crate::bench::BenchTarget, crate::bench::Load) {
    (
        crate::bench::BenchTarget {
            url: args.url.clone(),
            database_url,
            username: args.username.clone(),
            password: std::env::var("ALMACEN_PASSWORD").ok(),
        },
        crate::bench::Load {
            clients: args.clients.max(1),
            duration: Duration::from_secs(args.seconds.max(1)),
            max_requests: args.requests,
        },
    )
}

async fn serve(cfg: Config, demo: bool) -> anyhow::Result<ExitCode> {
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("no se pudo escuchar en {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    if !cfg.metrics_listen.trim().is_empty() {
        let handle = crate::telemetry::install()?;
        // A busy metrics port must not keep the shop from selling: warn and serve without it.
        match tokio::net::TcpListener::bind(cfg.metrics_listen.trim()).await {
            Ok(metrics_listener) => {
                println!(
                    "métricas Prometheus en http://{}/metrics",
                    metrics_listener.local_addr()?
                );
                tokio::spawn(async move {
                    if let Err(e) = crate::telemetry::serve(handle, metrics_listener).await {
                        tracing::error!(error = %e, "servidor de métricas");
                    }
                });
            }
            Err(e) => {
                eprintln!(
                    "aviso: no se pudo escuchar métricas en {} ({e}); almacen sigue sin /metrics (use --metrics-listen)",
                    cfg.metrics_listen
                );
                tracing::warn!(error = %e, addr = %cfg.metrics_listen, "metrics listener unavailable");
            }
        }
        let data_dir = match cfg.normalised_database_url().strip_prefix("sqlite://") {
            Some(path) => std::path::Path::new(path.split('?').next().unwrap_or(path))
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(
                    || std::path::PathBuf::from("."),
                    std::path::Path::to_path_buf,
                ),
            None => std::path::PathBuf::from("."),
        };
        crate::telemetry::spawn_sampler(wired.app.clone(), wired.store.clone(), data_dir);
    }
    if demo {
        let outcome = crate::demo::load(&wired.app)
            .await
            .context("cargando datos de demostración")?;
        match outcome.login {
            Some(login) => {
                println!(
                    "Datos de demostración cargados: depósito DEP, sucursales S01 y S02, {} productos.",
                    outcome.products
                );
                println!(
                    "Ingrese con  usuario: {}  contraseña: {}",
                    login.username, login.password
                );
                println!(
                    "  curl -X POST http://{addr}/api/v1/auth/login -H 'content-type: application/json' \\"
                );
                println!(
                    "       -d '{{\"username\":\"{}\",\"password\":\"{}\"}}'",
                    login.username, login.password
                );
            }
            None => println!(
                "Los datos de demostración ya estaban cargados; use el usuario admin creado entonces \
                 (o cree otro: almacen user add NOMBRE --role admin)."
            ),
        }
    }
    println!(
        "almacen escuchando en http://{addr} (API en /api/v1, documentación en http://{addr}/api/docs)"
    );
    tracing::info!(%addr, engine = wired.app.store.engine(), "almacen listo");
    let agents = crate::agents::agents(wired.app.clone(), &cfg);
    crate::agents::start(wired.app.clone(), &cfg, agents.clone())?;
    crate::server::serve_with_agents(
        wired.app,
        agents,
        &crate::server::HttpOptions::of(&cfg),
        listener,
        crate::server::shutdown_signal(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

async fn user_add(cfg: Config, args: UserAddArgs) -> anyhow::Result<ExitCode> {
    let password = match std::env::var("ALMACEN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("leyendo la contraseña de la entrada estándar")?;
            s.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        bail!("falta la contraseña: use ALMACEN_PASSWORD o envíela por la entrada estándar");
    }
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let sys = app::Principal::system();
    let input = app::auth::UserInput {
        username: args.name,
        password,
        role: args.role,
        locations: args.locations,
    };
    match wired
        .app
        .create_user(&sys, input, wired.app.meta(&sys, None))
        .await
    {
        Ok(w) => {
            println!(
                "usuario {} creado con rol {}",
                w.value.username,
                w.value.role.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(app::Error::Invalid { field, message, .. }) => bail!("{field}: {message}"),
        Err(e) => Err(e.into()),
    }
}

async fn check(cfg: Config, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let report = wired.app.check_ledger(&app::Principal::system()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "libro de stock: {} movimientos y {} saldos revisados",
            report.movements_checked, report.levels_checked
        );
        for d in &report.discrepancies {
            println!(
                "DIFERENCIA producto {} ({}) en {} lote {}: {}",
                d.product_id,
                d.sku,
                d.location,
                d.lot.as_deref().unwrap_or("—"),
                d.problem
            );
        }
        println!(
            "{}",
            if report.ok {
                "OK: la proyección coincide con el libro"
            } else {
                "FALLA: hay diferencias"
            }
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn import_products(cfg: Config, args: ImportProductsArgs) -> anyhow::Result<ExitCode> {
    let data =
        std::fs::read(&args.file).with_context(|| format!("leyendo {}", args.file.display()))?;
    let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
    let report = wired
        .app
        .import_products(&app::Principal::system(), &data)
        .await?;
    println!(
        "creados: {}  actualizados: {}  con errores: {}",
        report.created,
        report.updated,
        report.errors.len()
    );
    for e in &report.errors {
        println!("línea {}: {}: {}", e.line, e.field, e.reason);
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn forecast(cfg: Config, args: ForecastArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ForecastCommand::Evaluate(a)) => {
            let json = a.json;
            let (table, eval) =
                tokio::task::spawn_blocking(move || crate::forecast::evaluate(&a.input, a.horizon))
                    .await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&eval)?);
            } else {
                println!(
                    "horizonte {} períodos, {} series",
                    eval.horizon, eval.series
                );
                print!("{}", table.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(ForecastCommand::Predict(a)) => {
            let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                match &a.output {
                    Some(path) => {
                        let mut f = std::io::BufWriter::new(
                            std::fs::File::create(path)
                                .with_context(|| format!("escribiendo {}", path.display()))?,
                        );
                        crate::forecast::predict(&a.input, a.horizon, &mut f)
                    }
                    None => {
                        let stdout = std::io::stdout();
                        let mut lock = stdout.lock();
                        crate::forecast::predict(&a.input, a.horizon, &mut lock)
                    }
                }
            })
            .await??;
            eprintln!("{rows} filas de pronóstico");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let wired = crate::server::wire(&cfg, app::Clock::system()).await?;
            let run = wired.app.run_forecast(&app::Principal::system()).await?;
            println!(
                "pronóstico #{} listo: {} series ({})",
                run.id,
                run.series,
                run.method_mix
                    .iter()
                    .map(|(m, n)| format!("{m}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn scanner(
    our_cuit: Option<&str>,
    no_deskew: bool,
    binarise: bool,
    despeckle: bool,
    no_auto_despeckle: bool,
) -> anyhow::Result<ocr::Scanner> {
    let our_cuit = our_cuit
        .map(domain::Cuit::parse)
        .transpose()
        .context("--our-cuit")?;
    Ok(ocr::Scanner {
        our_cuit,
        steps: ocr::prep::Steps {
            deskew: !no_deskew,
            binarise,
            despeckle,
            auto_despeckle: !no_auto_despeckle,
        },
        ..ocr::Scanner::default()
    })
}

/// `almacen invoices scan`: one JSON line per file; exit 1 if any file could not be read.
fn invoices_scan(args: InvoiceScanArgs) -> anyhow::Result<ExitCode> {
    let scanner = scanner(
        args.our_cuit.as_deref(),
        args.no_deskew,
        args.binarise,
        args.despeckle,
        args.no_auto_despeckle,
    )?;
    let mut failed = false;
    for file in &args.files {
        let line = match std::fs::read(file) {
            Ok(bytes) => match scanner.scan(&bytes) {
                Ok(ex) => serde_json::json!({ "file": file, "extraction": ex }),
                Err(e) => {
                    failed = true;
                    serde_json::json!({ "file": file, "error": { "rule": e.rule(), "detail": e.to_string() } })
                }
            },
            Err(e) => {
                failed = true;
                serde_json::json!({ "file": file, "error": { "rule": "io", "detail": e.to_string() } })
            }
        };
        println!("{line}");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `almacen bench ocr`: accuracy and speed over generated invoices.
fn bench_ocr(args: BenchOcrArgs) -> anyhow::Result<ExitCode> {
    let scanner = scanner(
        Some("33-69345023-9"),
        args.no_deskew,
        args.binarise,
        args.despeckle,
        args.no_auto_despeckle,
    )?;
    let fonts = ocr::synth::Fonts::load(std::path::Path::new(ocr::synth::FONT_DIR))
        .map_err(|e| anyhow::anyhow!("fuentes DejaVu (fonts-dejavu-core): {e}"))?;
    if let Some(dir) = &args.save {
        let receiver = domain::Cuit::parse("33-69345023-9")
            .map_err(|e| anyhow::anyhow!("CUIT receptor: {e}"))?;
        let n = ocr::bench::save(dir, &fonts, args.count, args.seed, &receiver)
            .with_context(|| format!("escribiendo en {}", dir.display()))?;
        println!("{n} facturas generadas en {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if !scanner.ocr_available() {
        bail!("Tesseract no está instalado (apt-get install tesseract-ocr tesseract-ocr-spa)");
    }
    let report = ocr::bench::run(&scanner, &fonts, args.count, args.seed, args.threads);
    print!("{}", ocr::bench::table(&report));
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("escribiendo {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
