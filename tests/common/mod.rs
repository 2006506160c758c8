//! Test harness: a fresh real database per test (a SQLite file, or a new PostgreSQL database
//! when `SP_TEST_POSTGRES` names a server), the app on it with the definitions registered, and
//! a small district of users.

#![allow(dead_code)]

pub mod browser;
pub mod http;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Set};
use secretary_projects::app::{App, Principal};
use secretary_projects::store::entity::{organisation, user};
use secretary_projects::store::Db;
use secretary_projects::workflow;

pub struct TestEnv {
    pub app: App,
    pub backend: &'static str,
    pub url: String,
    _guard: Guard,
    _files: tempfile::TempDir,
}

pub enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime we may block; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let db = Database::connect(&admin_url).await.ok()?;
                    db.execute_unprepared(&format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    ))
                    .await
                    .ok()
                })
            })
            .join();
        }
    }
}

/// The server named by `SP_TEST_POSTGRES`, e.g. `postgres://postgres@127.0.0.1:5432`.
pub fn postgres_server() -> Option<String> {
    std::env::var("SP_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

pub async fn fresh_db() -> (Db, &'static str, String, Guard) {
    match postgres_server() {
        Some(server) => {
            let server = server.trim_end_matches('/').to_string();
            let admin_url = format!("{server}/postgres");
            let name = format!("sp_test_{}", rand::random::<u64>());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let url = format!("{server}/{name}");
            let db = Db::connect(&url).await.expect("connect to test database");
            (db, "postgres", url, Guard::Postgres { admin_url, name })
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            let db = Db::connect(&url).await.expect("open SQLite");
            (db, "sqlite", url, Guard::Sqlite(dir))
        }
    }
}

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub async fn env() -> TestEnv {
    let (db, backend, url, guard) = fresh_db().await;
    db.migrate().await.expect("migrate");
    let mut app = App::new(db);
    // Attachments of each test in a folder of its own, on either database.
    let files = tempfile::tempdir().expect("a folder for attachments");
    app.files = secretary_projects::store::files::FileStore::new(files.path());
    let workflows = workflow::load_all(&[
        repo("workflows"),
        repo("tests/workflows/community_fund.yaml"),
    ])
    .expect("definitions load");
    app.registry
        .register(&app.db, workflows, Utc::now())
        .await
        .expect("register");
    eprintln!("[test database: {backend}]");
    TestEnv {
        app,
        backend,
        url,
        _guard: guard,
        _files: files,
    }
}

/// A district with subdistricts and users.
pub struct World {
    pub district: organisation::Model,
    pub subdistricts: Vec<organisation::Model>,
    pub users: HashMap<String, Principal>,
}

impl World {
    pub fn user(&self, login: &str) -> &Principal {
        self.users
            .get(login)
            .unwrap_or_else(|| panic!("no test user {login}"))
    }
}

/// `users`: (login, roles, organisation index: 0 = district, k = k-th subdistrict).
pub async fn world(app: &App, subdistricts: usize, users: &[(&str, &str, usize)]) -> World {
    let now = Utc::now();
    let district = organisation::ActiveModel {
        parent_id: Set(None),
        name: Set("测试区".into()),
        kind: Set("district".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db.write)
    .await
    .unwrap();
    let mut subs = Vec::new();
    for k in 1..=subdistricts {
        subs.push(
            organisation::ActiveModel {
                parent_id: Set(Some(district.id)),
                name: Set(format!("第{k}街道")),
                kind: Set("subdistrict".into()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&app.db.write)
            .await
            .unwrap(),
        );
    }
    let mut map = HashMap::new();
    for (login, roles, org) in users {
        let org_id = if *org == 0 {
            district.id
        } else {
            subs[*org - 1].id
        };
        let u = user::ActiveModel {
            login: Set(login.to_string()),
            name: Set(format!("用户{login}")),
            email: Set(format!("{login}@test.invalid")),
            organisation_id: Set(org_id),
            roles: Set(roles.to_string()),
            password_hash: Set(None),
            language: Set("zh".into()),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db.write)
        .await
        .unwrap();
        map.insert(login.to_string(), Principal::from(&u));
    }
    World {
        district,
        subdistricts: subs,
        users: map,
    }
}

/// 09:00 Beijing time on the given day of 2026.
pub fn day(month: u32, d: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, month, d, 9, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}
