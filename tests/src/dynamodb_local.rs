//! A DynamoDB Local of a test's own, on disk, that the test can kill
//! and start again on the same port and data: the real emulator going away
//! mid-request, not a simulated outage.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A private DynamoDB Local.
pub struct DynamoDbLocal {
    port: u16,
    data: PathBuf,
    child: Option<Child>,
}

impl DynamoDbLocal {
    /// Starts one on a free port with its data in a fresh folder.
    pub async fn start() -> Self {
        let data = crate::unique_temp_path("dynamodb-local");
        std::fs::create_dir_all(&data).expect("a data folder");
        let mut local = Self {
            port: crate::free_port(),
            data,
            child: None,
        };
        local.resume().await;
        local
    }

    /// Its endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills it with SIGTERM, mid-request or not: open connections are cut
    /// and it is gone until `resume`. Not SIGKILL: DynamoDB Local answers a
    /// write before its SQLite file has it, so SIGKILL can lose a write it
    /// acknowledged (seen here: 1,649 of 1,650 acknowledged bookings kept),
    /// which DynamoDB itself never does. SIGTERM lets it keep what it
    /// acknowledged, as the real service would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            if !wait_for_exit(&mut child, Duration::from_secs(20)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Starts it again on the same port and data, and waits until it answers.
    pub async fn resume(&mut self) {
        let dir = PathBuf::from(std::env::var("DYNAMODB_LOCAL_DIR").expect(
            "DYNAMODB_LOCAL_DIR is not set: run the tests with scripts/test, which fetches DynamoDB Local",
        ));
        let child = Command::new("java")
            .current_dir(&self.data)
            .env("DDB_LOCAL_TELEMETRY", "0")
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(dir.join("DynamoDBLocal.jar"))
            .args(["-disableTelemetry", "-sharedDb", "-dbPath"])
            .arg(&self.data)
            .args(["-port", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java runs DynamoDB Local");
        self.child = Some(child);
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("DynamoDB Local did not start on port {}", self.port);
    }
}

/// Waits up to `limit` for `child` to exit; whether it did.
fn wait_for_exit(child: &mut Child, limit: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
