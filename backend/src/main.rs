//! `backend [serve]`: runs the Connections backend.

use backend::config::Config;
use backend::emulator::DEMO_PASSWORD;
use backend::startup::Application;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: backend [serve]\n\n\
Runs the Connections backend. Configuration comes from the environment (see README.md).";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown command: {other}\n\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    }
    match serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let app = Application::build(config).await?;
    let url = app.public_url.as_str().trim_end_matches('/').to_owned();
    // Plain stdout lines a person (and the end-to-end test) can read.
    println!("listening on http://{}", app.local_addr);
    println!("open {url}/admin/connections");
    if let Some(emulator) = &app.emulator {
        let accounts = &emulator.config().accounts;
        println!("demo mode: STRIPE_CLIENT_ID/STRIPE_SECRET_KEY are unset, so Stripe is played by the local Stripe emulator at {url}/stripe-emulator/");
        for a in accounts {
            println!(
                "  sign in on the emulator as {} / {DEMO_PASSWORD} ({})",
                a.email, a.display_name
            );
        }
    }
    app.run().await?;
    Ok(())
}
