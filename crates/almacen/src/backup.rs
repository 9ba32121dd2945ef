//! `almacen backup` and `almacen restore`: one archive holding the database (SQLite online copy
//! or `pg_dump`), a manifest with SHA-256 per file, schema and app versions, row counts and
//! content checksums; optionally encrypted with a passphrase. A restore verifies everything
//! before it touches the target, and checks the result against the manifest afterwards.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;

const FORMAT: &str = "almacen-backup/1";
const ENCRYPTED_MAGIC: &[u8] = b"ALMACEN-ENC1\n";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub engine: String,
    pub app_version: String,
    pub schema_version: i64,
    pub created_at: String,
    pub files: Vec<FileEntry>,
    pub row_counts: BTreeMap<String, i64>,
    pub checksums: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct BackupOutcome {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub manifest: Manifest,
}

fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let read = f.read(&mut buf)?;
        if read == 0 {
            break;
        }
        n += read as u64;
        h.update(&buf[..read]);
    }
    Ok((n, hex::encode(h.finalize())))
}

fn scratch_dir(tag: &str) -> anyhow::Result<PathBuf> {
    let mut r = [0u8; 8];
    rand::rng().fill_bytes(&mut r);
    let dir = std::env::temp_dir().join(format!("almacen-{tag}-{}", hex::encode(r)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A key from the passphrase: Argon2id, so a stolen archive resists guessing.
fn derive_key(passphrase: &str, salt: &[u8]) -> anyhow::Result<Key> {
    let mut key = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| anyhow::anyhow!("no se pudo derivar la clave: {e}"))?;
    Ok(Key::from(key))
}

fn encrypt(plain: &[u8], passphrase: &str) -> anyhow::Result<Vec<u8>> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut salt);
    rand::rng().fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(&derive_key(passphrase, &salt)?);
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), plain)
        .map_err(|_| anyhow::anyhow!("no se pudo cifrar la copia"))?;
    let mut out = Vec::with_capacity(ENCRYPTED_MAGIC.len() + 40 + sealed.len());
    out.extend_from_slice(ENCRYPTED_MAGIC);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn decrypt(data: &[u8], passphrase: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let Some(rest) = data.strip_prefix(ENCRYPTED_MAGIC) else {
        return Ok(data.to_vec());
    };
    let passphrase =
        passphrase.context("la copia está cifrada: indique la frase con --passphrase-env")?;
    ensure!(rest.len() > 40, "la copia cifrada está truncada");
    let (salt, rest) = rest.split_at(16);
    let (nonce, sealed) = rest.split_at(24);
    let cipher = XChaCha20Poly1305::new(&derive_key(passphrase, salt)?);
    cipher
        .decrypt(XNonce::from_slice(nonce), sealed)
        .map_err(|_| anyhow::anyhow!("la frase no es correcta o la copia fue alterada"))
}

/// Writes a backup archive of the configured database into `output_dir`.
pub async fn backup(
    cfg: &Config,
    output_dir: &Path,
    passphrase: Option<&str>,
) -> anyhow::Result<BackupOutcome> {
    let wired = crate::server::wire(cfg, app::Clock::system()).await?;
    let store = &wired.store;
    let engine = wired.app.store.engine();
    let work = scratch_dir("backup")?;
    let result = async {
        let db_file = match store.engine_kind() {
            store::Engine::Sqlite => {
                let f = work.join("database.sqlite");
                store.sqlite_copy_to(&f).await?;
                f
            }
            store::Engine::Postgres => {
                let f = work.join("database.pgdump");
                let out = tokio::process::Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(&f)
                    .arg(cfg.normalised_database_url())
                    .output()
                    .await
                    .context("no se pudo ejecutar pg_dump (paquete postgresql-client)")?;
                ensure!(
                    out.status.success(),
                    "pg_dump falló: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                f
            }
        };
        let (bytes, sha256) = sha256_file(&db_file)?;
        let name = db_file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("database")
            .to_owned();
        let manifest = Manifest {
            format: FORMAT.into(),
            engine: engine.into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            schema_version: store.schema_version().await?,
            created_at: chrono::Utc::now().to_rfc3339(),
            files: vec![FileEntry {
                name: name.clone(),
                bytes,
                sha256,
            }],
            row_counts: store.row_counts().await?,
            checksums: store.content_checksums().await?,
        };
        std::fs::write(work.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
        let mut archive = Vec::new();
        {
            let gz = flate2::write::GzEncoder::new(&mut archive, flate2::Compression::fast());
            let mut tar = tar::Builder::new(gz);
            tar.append_path_with_name(work.join(MANIFEST), MANIFEST)?;
            tar.append_path_with_name(&db_file, &name)?;
            tar.into_inner()?.finish()?;
        }
        let (archive, ext) = match passphrase {
            Some(p) => (encrypt(&archive, p)?, "tar.gz.enc"),
            None => (archive, "tar.gz"),
        };
        std::fs::create_dir_all(output_dir)?;
        let path = output_dir.join(format!(
            "almacen-{}.{ext}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ));
        let tmp = path.with_extension("partial");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&archive)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        let sha = hex::encode(Sha256::digest(&archive));
        store
            .record_backup(
                chrono::Utc::now().timestamp_micros(),
                archive.len() as i64,
                &sha,
                &path.to_string_lossy(),
            )
            .await?;
        anyhow::Ok(BackupOutcome {
            path,
            bytes: archive.len() as u64,
            sha256: sha,
            manifest,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

#[derive(Debug)]
pub struct RestoreOutcome {
    pub manifest: Manifest,
    pub ledger_ok: bool,
}

/// Verifies an archive completely, then restores it into the configured database, which must
/// be empty (or a missing SQLite file); finally checks rows and checksums against the manifest.
pub async fn restore(
    cfg: &Config,
    archive: &Path,
    passphrase: Option<&str>,
) -> anyhow::Result<RestoreOutcome> {
    let raw = std::fs::read(archive).with_context(|| format!("leyendo {}", archive.display()))?;
    let plain = decrypt(&raw, passphrase)?;
    let work = scratch_dir("restore")?;
    let result = async {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(plain.as_slice()));
        for entry in tar.entries().context("la copia no es un archivo válido")? {
            let mut entry = entry.context("la copia está truncada o dañada")?;
            let name = entry.path()?.to_string_lossy().into_owned();
            ensure!(
                !name.contains('/') && !name.contains("..") && !name.is_empty(),
                "nombre de archivo no permitido en la copia: {name}"
            );
            entry
                .unpack(work.join(&name))
                .context("la copia está truncada o dañada")?;
        }
        // The tar reader stops at its end marker; reading the compressed stream to its end is
        // what makes gzip check its CRC over everything, padding included.
        std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
            .context("la copia está truncada o dañada")?;
        let manifest: Manifest = serde_json::from_slice(
            &std::fs::read(work.join(MANIFEST)).context("la copia no tiene manifiesto")?,
        )
        .context("el manifiesto de la copia es ilegible")?;
        ensure!(
            manifest.format == FORMAT,
            "formato de copia desconocido: {}",
            manifest.format
        );
        ensure!(
            !manifest.files.is_empty(),
            "la copia no contiene la base de datos"
        );
        for f in &manifest.files {
            let (bytes, sha) = sha256_file(&work.join(&f.name))
                .with_context(|| format!("falta {} en la copia", f.name))?;
            ensure!(
                bytes == f.bytes && sha == f.sha256,
                "{} no coincide con el manifiesto (copia dañada o alterada)",
                f.name
            );
        }
        let url = cfg.normalised_database_url();
        let target_engine = store::Engine::from_url(&url).map_err(anyhow::Error::msg)?;
        let expected_engine = match target_engine {
            store::Engine::Sqlite => "sqlite",
            store::Engine::Postgres => "postgres",
        };
        ensure!(
            manifest.engine == expected_engine,
            "la copia es de {} y el destino es {expected_engine}",
            manifest.engine
        );
        let db_file = work.join(&manifest.files[0].name);
        match target_engine {
            store::Engine::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let path = PathBuf::from(path);
                ensure!(
                    !path.exists(),
                    "el destino {} ya existe: restaure en un archivo nuevo",
                    path.display()
                );
                check_schema(&manifest, target_engine)?;
                let tmp = path.with_extension("restoring");
                std::fs::copy(&db_file, &tmp)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &path)?;
            }
            store::Engine::Postgres => {
                check_schema(&manifest, target_engine)?;
                let probe = store::SqlStore::open(&url, store::StoreOptions::default())
                    .await
                    .map_err(anyhow::Error::msg)?;
                ensure!(
                    probe.is_empty().await?,
                    "la base de datos destino no está vacía: restaure en una base nueva"
                );
                drop(probe);
                let out = tokio::process::Command::new("pg_restore")
                    .args([
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--dbname",
                    ])
                    .arg(&url)
                    .arg(&db_file)
                    .output()
                    .await
                    .context("no se pudo ejecutar pg_restore (paquete postgresql-client)")?;
                ensure!(
                    out.status.success(),
                    "pg_restore falló: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let wired = crate::server::wire(cfg, app::Clock::system()).await?;
        let counts = wired.store.row_counts().await?;
        for (table, n) in &manifest.row_counts {
            let got = counts.get(table).copied().unwrap_or(-1);
            if got != *n {
                bail!("tras restaurar, {table} tiene {got} filas y la copia decía {n}");
            }
        }
        let sums = wired.store.content_checksums().await?;
        for (table, sum) in &manifest.checksums {
            ensure!(
                sums.get(table) == Some(sum),
                "tras restaurar, el contenido de {table} no coincide con la copia"
            );
        }
        let report = wired.app.check_ledger(&app::Principal::system()).await?;
        anyhow::Ok(RestoreOutcome {
            manifest,
            ledger_ok: report.ok,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// A copy from a newer almacen cannot be opened by this one; older copies migrate on open.
fn check_schema(manifest: &Manifest, engine: store::Engine) -> anyhow::Result<()> {
    let latest = engine.latest_migration();
    ensure!(
        manifest.schema_version <= latest,
        "la copia tiene un esquema más nuevo ({}) que este programa ({latest}): actualice almacen primero",
        manifest.schema_version
    );
    Ok(())
}
