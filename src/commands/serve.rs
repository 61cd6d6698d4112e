//! `mediasift serve [--port] [--bind] [--allow-remote]`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::DataDir;

pub async fn serve(
    data: &DataDir,
    addr: SocketAddr,
    allow_remote: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(refusal) = mediasift::serve::refuse_address(&addr, allow_remote) {
        eprintln!("error: {refusal}");
        return Ok(ExitCode::from(2));
    }
    let runtime = Arc::new(super::open(data).await?);
    let missed = runtime.announce_missed_uploads().await?;
    if missed > 0 {
        eprintln!("announced {missed} upload(s) an interrupted run stored but never announced");
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another server using it? try --port 0)")
    })?;
    let local = listener.local_addr()?;
    // Uploads and anything waiting on the bus are processed while the server runs.
    let dispatcher = runtime.bus.start()?;
    println!(
        "mediasift is serving {} on http://{local}/ (Ctrl-C stops it)",
        data.data_dir.display()
    );
    let served = mediasift::serve::serve(runtime, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    dispatcher.shutdown().await?;
    served.context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}
