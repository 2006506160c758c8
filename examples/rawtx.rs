use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let c = rusqlite::Connection::open(dir.path().join("x.db")).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.execute_batch(
        "CREATE TABLE c (id INTEGER PRIMARY KEY, n BIGINT); INSERT INTO c VALUES (1, 0);",
    )
    .unwrap();
    let n = 50000;
    let t = Instant::now();
    for _ in 0..n {
        c.execute_batch("BEGIN").unwrap();
        c.prepare_cached("UPDATE c SET n = n + 1 WHERE id = ?1")
            .unwrap()
            .execute([1])
            .unwrap();
        c.execute_batch("COMMIT").unwrap();
    }
    println!("rusqlite tx/s {:.0}", n as f64 / t.elapsed().as_secs_f64());
}
