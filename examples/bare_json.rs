//! The yardstick of the HTTP load run: a bare axum handler that answers a fixed JSON body from
//! memory, with no session check and no database. `scripts/load-run.sh` starts it with the
//! body of a real project answer, so that both servers send the same number of bytes.
//!
//! Run: `cargo run --release --example bare_json -- 127.0.0.1:18081 body.json`

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:18081".into());
    let body = match args.next() {
        Some(path) => match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                std::process::exit(2);
            }
        },
        None => b"{\"ok\":true}".to_vec(),
    };
    let body: &'static [u8] = Box::leak(body.into_boxed_slice());
    let app = Router::new().route(
        "/json",
        get(move || async move { ([(CONTENT_TYPE, "application/json")], body) }),
    );
    let listener = match tokio::net::TcpListener::bind(&bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {bind}: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "bare JSON handler on http://{bind}/json ({} bytes)",
        body.len()
    );
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("server error: {e}");
    }
}
