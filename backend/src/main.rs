//! `backend [serve]`: runs the Connections backend; the other commands are operator tools.

use backend::clock::Clock;
use backend::config::Config;
use backend::emulator::{Emulator, EmulatorConfig, DEMO_PASSWORD};
use backend::startup::Application;
use backend::users;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The Connections backend. Configuration comes from the environment (see README.md).
#[derive(Debug, Parser)]
#[command(name = "backend", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Connections backend (the default).
    Serve,
    /// Add a user; the password is read from stdin (one line).
    CreateUser {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// admin, standard or read-only.
        #[arg(long, value_parser = parse_role)]
        role: shared::Role,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Set a user's password, read from stdin (one line).
    ResetPassword {
        /// Sign-in email.
        #[arg(long)]
        email: String,
    },
    /// Create a key for a host product embedding the Connections widget; prints the key once.
    CreateHostKey {
        /// The host product's name.
        #[arg(long)]
        name: String,
        /// An origin allowed to embed the widget (`https://host.example[:port]`); repeat for more.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
    },
    /// Create a PostgreSQL login that may read the warehouse schemas (of one organization, when
    /// given) and nothing else; prints its postgres:// URL once.
    CreateReader {
        /// The login's name: [a-z_][a-z0-9_]{0,62}.
        #[arg(long)]
        name: String,
        /// Only this organization's schemas: its id as the host product names it in its connect
        /// sessions (`organization.id`).
        #[arg(long)]
        organization: Option<String>,
    },
    /// Run the database migrations alone (before starting a new version, say), then exit.
    Migrate,
    /// Re-encrypt every stored credential under a new key (generated into the key file, or
    /// NEW_ENCRYPTION_KEY when ENCRYPTION_KEY is set).
    RotateKey,
    /// Run only the local Stripe emulator, for pointing STRIPE_CONNECT_URL, STRIPE_API_URL and
    /// STRIPE_AUTHORIZE_URL at it. BIND, EMULATOR_CLIENT_ID, EMULATOR_SECRET_KEY,
    /// EMULATOR_REDIRECT_URI (comma-separated), EMULATOR_INSTALL_LINK, EMULATOR_TOKEN_TTL and
    /// EMULATOR_WEBHOOK_URL with EMULATOR_WEBHOOK_SECRET configure it.
    StripeEmulator,
}

fn parse_role(raw: &str) -> Result<shared::Role, String> {
    shared::Role::parse(raw).ok_or_else(|| "must be admin, standard or read-only".to_owned())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        // Colours only on a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await.map(|()| None),
        Command::CreateUser { email, role, name } => {
            create_user(&email, role, &name).await.map(Some)
        }
        Command::ResetPassword { email } => reset_password(&email).await.map(Some),
        Command::CreateHostKey { name, origins } => create_host_key(name, origins).await.map(Some),
        Command::CreateReader { name, organization } => {
            create_reader(&name, organization.as_deref())
                .await
                .map(Some)
        }
        Command::RotateKey => rotate_key().await.map(Some),
        Command::Migrate => migrate().await.map(Some),
        Command::StripeEmulator => serve_emulator().await.map(|()| None),
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

type AnyError = Box<dyn std::error::Error>;

async fn serve() -> Result<(), AnyError> {
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
        println!("demo mode (DEMO=1): Stripe is played by the local Stripe emulator at {url}/stripe-emulator/ (restricted keys are made on that page)");
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

/// Runs the emulator alone, as a stand-in for Stripe's OAuth pages and API.
async fn serve_emulator() -> Result<(), AnyError> {
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
    if let Some(link) = var("EMULATOR_INSTALL_LINK") {
        config.install_link = link;
    }
    if let Some(ttl) = var("EMULATOR_TOKEN_TTL") {
        let secs = backend::config::parse_duration_secs("EMULATOR_TOKEN_TTL", &ttl, 1)?;
        config.access_token_ttl_secs = u64::try_from(secs)?;
    }
    if let (Some(url), Some(secret)) = (var("EMULATOR_WEBHOOK_URL"), var("EMULATOR_WEBHOOK_SECRET"))
    {
        config.webhook = Some((url, secret));
    }
    let emulator = Emulator::new(config);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!(
        "stripe emulator: client id {}, install link /oauth/v2/{}/authorize",
        emulator.config().client_id,
        emulator.config().install_link
    );
    for a in &emulator.config().accounts {
        println!(
            "  sign in as {} / {DEMO_PASSWORD} ({})",
            a.email, a.display_name
        );
    }
    axum::serve(listener, emulator.router()).await?;
    Ok(())
}

/// One line of stdin, without its line ending, checked as a new password.
fn password_from_stdin() -> Result<String, AnyError> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    users::check_new_password(&password)?;
    Ok(password)
}

async fn open_database() -> Result<backend::store::Db, AnyError> {
    let config = Config::from_env()?;
    backend::startup::create_private_dir(&config.data_dir)?;
    Ok(backend::store::connect(&config.database_url).await?)
}

async fn hash(password: String) -> Result<String, AnyError> {
    Ok(tokio::task::spawn_blocking(move || users::hash_password(&password)).await??)
}

/// `create-user`: an operator command on the configured database.
async fn create_user(email: &str, role: shared::Role, name: &str) -> Result<String, AnyError> {
    let password = password_from_stdin()?;
    let pool = open_database().await?;
    let hash = hash(password).await?;
    let user = users::create(&pool, email, name, role, &hash, Clock::default().now()).await?;
    Ok(format!("created {} ({})", user.email, user.role.as_str()))
}

/// `create-host-key`: the key is printed once (only its hash is stored).
async fn create_host_key(name: String, origins: Vec<String>) -> Result<String, AnyError> {
    let pool = open_database().await?;
    let new = shared::NewHostKey { name, origins };
    let created = backend::services::hosts::create_key(&pool, Clock::default().now(), &new).await?;
    Ok(format!(
        "host key for {} ({}):\n{}",
        created.host_key.name,
        created.host_key.origins.join(", "),
        created.key
    ))
}

/// `create-reader`: the URL is printed once (PostgreSQL keeps only the password's hash).
async fn create_reader(name: &str, organization: Option<&str>) -> Result<String, AnyError> {
    let pool = open_database().await?;
    let config = Config::from_env()?;
    let url = backend::services::warehouse::create_reader(
        &pool,
        &config.database_url,
        name,
        organization,
        Clock::default().now(),
    )
    .await?;
    Ok(format!(
        "reader {name} created; it can read the warehouse schemas{} and nothing else:\n{url}",
        organization.map_or(String::new(), |o| format!(" of organization {o}"))
    ))
}

/// `migrate`: opening the database runs the migrations (or refuses a newer database).
async fn migrate() -> Result<String, AnyError> {
    let pool = open_database().await?;
    let latest = backend::store::migrate(&pool).await?;
    Ok(format!("the database is at migration {latest}"))
}

/// `reset-password`: an operator command on the configured database.
async fn reset_password(email: &str) -> Result<String, AnyError> {
    let password = password_from_stdin()?;
    let pool = open_database().await?;
    let hash = hash(password).await?;
    if users::set_password(&pool, email, &hash).await? {
        Ok(format!(
            "password changed for {}",
            email.trim().to_lowercase()
        ))
    } else {
        Err(format!("no user with email {email}").into())
    }
}

/// How long an instance's announced key counts as in use (it announces every minute).
const LIVE_INSTANCE_SECS: i64 = 15 * 60;

/// `rotate-key`: every credential re-encrypted under a new key, verified, and only then are keys
/// pruned — never one that a row is still under or a live instance still seals with. Key-file mode:
/// the new key is written (fsync'd) beside every existing one before any row uses it, so a crash or
/// a failure at any point leaves every credential readable and a re-run is safe.
async fn rotate_key() -> Result<String, AnyError> {
    use backend::config::Secret;
    use backend::crypto::{self, TokenCipher};
    let config = Config::from_env()?;
    // One rotation at a time: two at once could each write a key file without the other's key.
    backend::startup::create_private_dir(&config.data_dir)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.data_dir.join("rotate-key.lock"))?;
    lock.try_lock()
        .map_err(|_| "another rotate-key is running on this DATA_DIR; wait for it to finish")?;
    let pool = backend::store::connect(&config.database_url).await?;
    let now = Clock::default().now();
    let ring_of = |keys: &[Secret]| {
        TokenCipher::from_base64(&Secret::new(
            keys.iter()
                .map(Secret::expose)
                .collect::<Vec<_>>()
                .join(","),
        ))
    };
    match &config.encryption_key {
        Some(old) => {
            let new = std::env::var("NEW_ENCRYPTION_KEY")
                .map_err(|_| "ENCRYPTION_KEY is set: put the new key in NEW_ENCRYPTION_KEY")?;
            let ring = TokenCipher::from_base64(&Secret::new(format!("{new},{}", old.expose())))?;
            let n = backend::store::reencrypt_all(&pool, &ring).await?;
            backend::store::verify_all(&pool, &ring).await?;
            let live =
                backend::store::keys_of_live_instances(&pool, now - LIVE_INSTANCE_SECS).await?;
            Ok(format!(
                "re-encrypted the tokens of {n} connection(s) under key {}; now set ENCRYPTION_KEY to \
                 \"NEW_ENCRYPTION_KEY,ENCRYPTION_KEY\" (new first, the old keys after it) on every \
                 instance and restart them; drop an old key only when no live instance seals with it \
                 (sealing now: {})",
                ring.key_id(),
                live.join(", ")
            ))
        }
        None => {
            let path = crypto::key_file(&config.data_dir);
            let existing = crypto::read_key_file(&path)?;
            let previous = existing.first().cloned().ok_or("the key file is empty")?;
            // 1. The new key first, every existing key kept, durable before any row uses it.
            let mut keys = vec![crypto::generate_key()];
            keys.extend(existing);
            crypto::write_key_file(&path, &keys)?;
            let ring = ring_of(&keys)?;
            // 2. Re-encrypt, then check every row opens.
            let n = backend::store::reencrypt_all(&pool, &ring).await?;
            backend::store::verify_all(&pool, &ring).await?;
            // 3. Prune what nothing uses: keep the new key, the previous one (instances not yet
            //    restarted seal with it), and any key a row is under or a live instance announced.
            let mut in_use = backend::store::key_ids_in_use(&pool).await?;
            in_use.extend(
                backend::store::keys_of_live_instances(&pool, now - LIVE_INSTANCE_SECS).await?,
            );
            in_use.push(ring.key_id().to_owned());
            in_use.push(crypto::key_id_of(&previous)?);
            let mut kept = Vec::new();
            let mut retired = Vec::new();
            for key in keys {
                if in_use.contains(&crypto::key_id_of(&key)?) {
                    kept.push(key);
                } else {
                    retired.push(key);
                }
            }
            // Dropped keys are kept aside (owner-only), so a mistake can be undone.
            if !retired.is_empty() {
                let aside = path.with_extension("key.retired");
                let mut all = crypto::read_key_file(&aside).unwrap_or_default();
                all.extend(retired);
                crypto::write_key_file(&aside, &all)?;
            }
            crypto::write_key_file(&path, &kept)?;
            backend::store::verify_all(&pool, &ring_of(&kept)?).await?;
            Ok(format!(
                "re-encrypted the tokens of {n} connection(s) under key {}, written to {} ({} key(s) kept); restart every instance now",
                ring.key_id(),
                path.display(),
                kept.len()
            ))
        }
    }
}
