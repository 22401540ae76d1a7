//! `backend [serve]`: runs the Connections backend.

use backend::clock::Clock;
use backend::config::Config;
use backend::emulator::{Emulator, EmulatorConfig, DEMO_PASSWORD};
use backend::startup::Application;
use backend::users;
use tracing_subscriber::EnvFilter;

const USAGE: &str =
    "usage: backend [serve | create-user | reset-password | rotate-key | stripe-emulator]\n\n\
serve            run the Connections backend (the default); configuration from the environment,\n\
                 see README.md\n\
create-user --email <email> --role admin|standard|read-only [--name <display name>]\n\
                 add a user; the password is read from stdin (one line)\n\
reset-password --email <email>\n\
                 set a user's password, read from stdin (one line)\n\
rotate-key       re-encrypt every stored token under a new key (generated into the key file, or\n\
                 NEW_ENCRYPTION_KEY when ENCRYPTION_KEY is set)\n\
stripe-emulator  run only the local Stripe emulator, for pointing STRIPE_CONNECT_URL and\n\
                 STRIPE_API_URL at it; BIND, EMULATOR_CLIENT_ID, EMULATOR_SECRET_KEY,\n\
                 EMULATOR_REDIRECT_URI (comma-separated) and EMULATOR_WEBHOOK_URL with\n\
                 EMULATOR_WEBHOOK_SECRET configure it";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        // Colours only on a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let outcome = match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve().await.map(|()| None),
        Some(command @ ("create-user" | "reset-password")) => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            manage_users(command, &args).await.map(Some)
        }
        Some("rotate-key") => rotate_key().await.map(Some),
        Some("stripe-emulator") => serve_emulator().await.map(|()| None),
        Some("-h" | "--help" | "help") => Ok(Some(USAGE.to_owned())),
        Some(other) => {
            eprintln!("unknown command: {other}\n\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match outcome {
        Ok(message) => {
            if let Some(message) = message {
                println!("{message}");
            }
            std::process::ExitCode::SUCCESS
        }
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
    match &app.first_admin {
        Some((email, Some(password))) => println!(
            "sign in to the app as {email} / {} (generated now, shown once; change it with `backend reset-password`)",
            password.expose()
        ),
        Some((email, None)) => println!("created the first Admin: {email}"),
        None if app.emulator.is_some() => println!(
            "sign in with the Admin created at the first start (lost the password? \
             `echo 'new password here' | cargo run -p backend -- reset-password --email {}`)",
            backend::startup::DEMO_ADMIN_EMAIL
        ),
        None => {}
    }
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

/// Runs the emulator alone, as a stand-in for `connect.stripe.com` and `api.stripe.com`.
async fn serve_emulator() -> Result<(), Box<dyn std::error::Error>> {
    let _ = dotenvy::dotenv();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let bind: std::net::SocketAddr = var("BIND")
        .unwrap_or_else(|| "127.0.0.1:12111".into())
        .parse()
        .map_err(|_| "BIND must be an address such as 127.0.0.1:12111")?;
    let redirect_uris = var("EMULATOR_REDIRECT_URI").ok_or(
        "EMULATOR_REDIRECT_URI is required (the backend's PUBLIC_URL + /oauth/stripe/callback)",
    )?;
    let mut config = EmulatorConfig::demo("");
    config.redirect_uris = redirect_uris
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    if let Some(id) = var("EMULATOR_CLIENT_ID") {
        config.client_id = id;
    }
    if let Some(key) = var("EMULATOR_SECRET_KEY") {
        config.secret_key = key;
    }
    if let (Some(url), Some(secret)) = (var("EMULATOR_WEBHOOK_URL"), var("EMULATOR_WEBHOOK_SECRET"))
    {
        config.webhook = Some((url, secret));
    }
    let emulator = Emulator::new(config);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("stripe emulator: client id {}", emulator.config().client_id);
    for a in &emulator.config().accounts {
        println!(
            "  sign in as {} / {DEMO_PASSWORD} ({})",
            a.email, a.display_name
        );
    }
    axum::serve(listener, emulator.router()).await?;
    Ok(())
}

/// `create-user` and `reset-password`: operator commands on the configured database.
async fn manage_users(
    command: &str,
    args: &[String],
) -> Result<String, Box<dyn std::error::Error>> {
    let mut email = None;
    let mut role = None;
    let mut name = String::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--email" => email = Some(value.clone()),
            "--role" => {
                role = Some(
                    shared::Role::parse(value)
                        .ok_or("--role must be admin, standard or read-only")?,
                )
            }
            "--name" => name = value.clone(),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let email = email.ok_or("--email is required")?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    users::check_new_password(&password)?;
    let config = Config::from_env()?;
    std::fs::create_dir_all(&config.data_dir)?;
    let pool = backend::store::connect(&config.database_url).await?;
    let hash = tokio::task::spawn_blocking(move || users::hash_password(&password)).await??;
    if command == "create-user" {
        let role = role.ok_or("--role is required")?;
        let user = users::create(&pool, &email, &name, role, &hash, Clock::default().now()).await?;
        Ok(format!("created {} ({})", user.email, user.role.as_str()))
    } else if users::set_password(&pool, &email, &hash).await? {
        Ok(format!(
            "password changed for {}",
            email.trim().to_lowercase()
        ))
    } else {
        Err(format!("no user with email {email}").into())
    }
}

/// `rotate-key`: every token re-encrypted under a new key while the old one still opens them. In
/// key-file mode the file holds both keys during the re-encryption, so a crash at any point leaves
/// every token readable.
async fn rotate_key() -> Result<String, Box<dyn std::error::Error>> {
    use backend::config::Secret;
    use backend::crypto::{self, TokenCipher};
    let config = Config::from_env()?;
    let pool = backend::store::connect(&config.database_url).await?;
    match &config.encryption_key {
        Some(old) => {
            let new = std::env::var("NEW_ENCRYPTION_KEY")
                .map_err(|_| "ENCRYPTION_KEY is set: put the new key in NEW_ENCRYPTION_KEY")?;
            let ring = TokenCipher::from_base64(&Secret::new(format!("{new},{}", old.expose())))?;
            let n = backend::store::reencrypt_all(&pool, &ring).await?;
            Ok(format!(
                "re-encrypted the tokens of {n} connection(s) under key {}; now set ENCRYPTION_KEY to the value of NEW_ENCRYPTION_KEY",
                ring.key_id()
            ))
        }
        None => {
            let path = crypto::key_file(&config.data_dir);
            let text = std::fs::read_to_string(&path)?;
            let old = Secret::new(text.lines().next().unwrap_or_default().trim().to_owned());
            let new = crypto::generate_key();
            crypto::write_key_file(&path, &[new.clone(), old.clone()])?;
            let ring = TokenCipher::from_base64(&Secret::new(format!(
                "{},{}",
                new.expose(),
                old.expose()
            )))?;
            let n = backend::store::reencrypt_all(&pool, &ring).await?;
            // The previous key stays second in the file (a server still running with it in memory
            // may seal with it until restarted); older keys are dropped.
            crypto::write_key_file(&path, &[new, old])?;
            Ok(format!(
                "re-encrypted the tokens of {n} connection(s) under key {} (written to {}); restart every instance now",
                ring.key_id(),
                path.display()
            ))
        }
    }
}
