//! Free loopback ports for servers the testbed starts.

use crate::TestbedError;

/// A port nothing listens on right now (the OS picks it; it stays free until someone binds it).
pub fn free_port() -> Result<u16, TestbedError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(TestbedError::io("finding a free port"))?;
    Ok(listener.local_addr().map_err(TestbedError::io("finding a free port"))?.port())
}

/// Waits until something accepts connections on `port`, for up to `patience`.
pub async fn wait_for_port(port: u16, patience: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
