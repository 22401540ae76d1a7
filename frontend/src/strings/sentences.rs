//! Sentences built from the server's codes and from names, English / Italian: codes travel on the
//! wire, words are made here.

use shared::{
    AuditAction, AuditDetail, AuthKind, CallbackError, ConnectionStatus, MissingPermission,
    Problem, Removal,
};

use super::{duration, number, t, texts};

/// The banner for an OAuth round trip that did not connect anything.
pub fn callback_error(error: Option<CallbackError>) -> &'static str {
    match error {
        Some(CallbackError::AccessDenied) => t(
            "Access to Stripe was not granted, so nothing was connected. Click Add a Data Source to try again.",
            "L'accesso a Stripe non è stato concesso, quindi non è stato collegato nulla. Fai clic su Aggiungi un'origine dati per riprovare.",
        ),
        Some(CallbackError::InvalidState) => t(
            "This Stripe sign-in has expired or was already used, so nothing was connected. Please start again.",
            "Questo accesso a Stripe è scaduto o è già stato usato, quindi non è stato collegato nulla. Ricomincia.",
        ),
        Some(CallbackError::InvalidRequest) => t(
            "Stripe sent back an incomplete answer, so nothing was connected. Please start again.",
            "Stripe ha restituito una risposta incompleta, quindi non è stato collegato nulla. Ricomincia.",
        ),
        Some(CallbackError::ExchangeRefused) => t(
            "Stripe refused the authorization (it may have expired), so nothing was connected. Please try again.",
            "Stripe ha rifiutato l'autorizzazione (potrebbe essere scaduta), quindi non è stato collegato nulla. Riprova.",
        ),
        Some(CallbackError::StripeUnavailable) => t(
            "Stripe could not be reached or answered unexpectedly, so nothing was connected. Please try again in a moment.",
            "Stripe non è raggiungibile o ha risposto in modo imprevisto, quindi non è stato collegato nulla. Riprova tra poco.",
        ),
        Some(CallbackError::StripeError) => t(
            "Stripe reported an error during authorization, so nothing was connected.",
            "Stripe ha segnalato un errore durante l'autorizzazione, quindi non è stato collegato nulla.",
        ),
        Some(CallbackError::SessionMismatch) => t(
            "This Stripe sign-in was not started by you in this browser session, so nothing was connected. Please start again from Add a Data Source.",
            "Questo accesso a Stripe non è stato avviato da te in questa sessione del browser, quindi non è stato collegato nulla. Ricomincia da Aggiungi un'origine dati.",
        ),
        Some(CallbackError::StorageFailed) => t(
            "The connection could not be saved, so nothing was connected. Please try again.",
            "Non è stato possibile salvare la connessione, quindi non è stato collegato nulla. Riprova.",
        ),
        Some(CallbackError::AccountMismatch) => t(
            "You signed in to a different Stripe account than the one connected, so nothing was changed.",
            "Hai eseguito l'accesso a un account Stripe diverso da quello collegato, quindi non è stato modificato nulla.",
        ),
        Some(CallbackError::AccountElsewhere) => t(
            "This Stripe account is already connected for another organization, so nothing was changed.",
            "Questo account Stripe è già collegato per un'altra organizzazione, quindi non è stato modificato nulla.",
        ),
        None => t(
            "Something went wrong while connecting, so nothing was connected. Please try again.",
            "Si è verificato un problema durante la connessione, quindi non è stato collegato nulla. Riprova.",
        ),
    }
}

/// The text of a status (always shown beside its colour).
pub fn status(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Success => t("Success", "Riuscita"),
        ConnectionStatus::NeedsReauth => {
            t("Needs re-authentication", "Riautenticazione necessaria")
        }
        ConnectionStatus::Error => t("Error", "Errore"),
        ConnectionStatus::Testing => t("Testing…", "Verifica in corso…"),
    }
}

/// The name of a role.
pub fn role(role: shared::Role) -> &'static str {
    match role {
        shared::Role::Admin => t("Admin", "Amministratore"),
        shared::Role::Standard => t("Standard", "Standard"),
        shared::Role::ReadOnly => t("Read-Only", "Sola lettura"),
    }
}

/// The banner after adding a user with a generated password.
pub fn one_time_password(email: &str, password: &str) -> String {
    match super::italian() {
        false => format!(
            "User added. One-time password for {email}: {password} — share it securely; it will not be shown again."
        ),
        true => format!(
            "Utente aggiunto. Password monouso per {email}: {password} — condividila in modo sicuro; non verrà mostrata di nuovo."
        ),
    }
}

/// Accessible name of a per-row control ("Role for ada@example.com"): the control, then whose.
pub fn for_user(what: &str, email: &str) -> String {
    format!("{what} {email}")
}

/// A restricted key, by the only part ever shown again.
pub fn key_ending(last4: &str) -> String {
    format!("rk_…{last4}")
}

/// The delete confirmation's title.
pub fn delete_title(name: &str) -> String {
    match super::italian() {
        false => format!("Delete {name}?"),
        true => format!("Eliminare {name}?"),
    }
}

/// The delete confirmation's explanation.
pub fn delete_body(name: &str, account: &str) -> String {
    match super::italian() {
        false => format!(
            "This disconnects {name} ({account}) at Stripe and removes its stored authorization. Its data will no longer be read."
        ),
        true => format!(
            "{name} ({account}) viene scollegato in Stripe e la sua autorizzazione salvata viene rimossa. I suoi dati non verranno più letti."
        ),
    }
}

/// After a deletion.
pub fn deleted(name: &str) -> String {
    match super::italian() {
        false => format!("{name} was deleted."),
        true => format!("{name} è stato eliminato."),
    }
}

/// After a test.
pub fn tested(name: &str, status: ConnectionStatus) -> String {
    match super::italian() {
        false => format!("Connection test for {name}: {}.", self::status(status)),
        true => format!(
            "Verifica della connessione {name}: {}.",
            self::status(status)
        ),
    }
}

/// Accessible name of a per-row action ("Delete Acme Corp").
pub fn action_for(action: &str, name: &str) -> String {
    format!("{action} {name}")
}

/// A re-authentication signed in to the wrong Stripe account.
pub fn account_mismatch(expected: &str, other: &str) -> String {
    match super::italian() {
        false => format!(
            "You signed in to Stripe as {other}, but this connection is for {expected}. Nothing was changed: sign in to the {expected} account to re-authenticate it."
        ),
        true => format!(
            "Hai eseguito l'accesso a Stripe come {other}, ma questa connessione è per {expected}. Non è stato modificato nulla: accedi all'account {expected} per riautenticarla."
        ),
    }
}

/// Why a connection is unhealthy, from the server's code.
pub fn problem(problem: Problem) -> &'static str {
    match problem {
        Problem::Refused => t(
            "Stripe refused the stored authorization (revoked, expired or deleted). Click the name to connect again.",
            "Stripe ha rifiutato l'autorizzazione salvata (revocata, scaduta o eliminata). Fai clic sul nome per connettere di nuovo.",
        ),
        Problem::Revoked => t(
            "Access was revoked in Stripe. Click the name to connect again.",
            "L'accesso è stato revocato in Stripe. Fai clic sul nome per connettere di nuovo.",
        ),
        Problem::OtherAccount => t(
            "The stored authorization reads a different Stripe account. Connect again.",
            "L'autorizzazione salvata legge un account Stripe diverso. Connetti di nuovo.",
        ),
        Problem::RefreshRefused => t(
            "Stripe refused to renew the authorization (the app may have been uninstalled). Click the name to connect again.",
            "Stripe ha rifiutato di rinnovare l'autorizzazione (l'app potrebbe essere stata disinstallata). Fai clic sul nome per connettere di nuovo.",
        ),
        Problem::MissingPermission => t(
            "The restricted key can no longer read everything the product needs. Click the name to paste a new key.",
            "La chiave con restrizioni non può più leggere tutto ciò che serve al prodotto. Fai clic sul nome per incollare una nuova chiave.",
        ),
        Problem::Unreachable => t(
            "Stripe could not be reached or did not answer in time. It will be retried.",
            "Stripe non è raggiungibile o non ha risposto in tempo. Verrà riprovato.",
        ),
        Problem::BadAnswer => t(
            "Stripe answered with an error or something unreadable. It will be retried.",
            "Stripe ha risposto con un errore o con qualcosa di illeggibile. Verrà riprovato.",
        ),
        Problem::Unknown => t(
            "Something went wrong with this connection.",
            "Si è verificato un problema con questa connessione.",
        ),
    }
}

/// How a connection authenticates.
pub fn auth_kind(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::Connect => "Stripe Connect",
        AuthKind::Apps => t("Stripe App", "App Stripe"),
        AuthKind::RestrictedKey => texts::restricted_api_key(),
    }
}

/// An audit action.
pub fn audit_action(action: AuditAction) -> &'static str {
    match action {
        AuditAction::Connected => t("Connected", "Connesso"),
        AuditAction::Reauthenticated => t("Re-authenticated", "Riautenticato"),
        AuditAction::Tested => t("Tested", "Verificato"),
        AuditAction::Deleted => t("Deleted", "Eliminato"),
        AuditAction::AccessRevoked => t("Access revoked", "Accesso revocato"),
        AuditAction::TokenRefreshed => t("Authorization renewed", "Autorizzazione rinnovata"),
        AuditAction::RefreshRefused => t("Renewal refused", "Rinnovo rifiutato"),
        AuditAction::Other => t("Other", "Altro"),
    }
}

/// How a deletion ended at Stripe.
pub fn removal(removal: Removal) -> &'static str {
    match removal {
        Removal::Deauthorized => t("access revoked at Stripe", "accesso revocato in Stripe"),
        Removal::AlreadyDisconnected => t(
            "Stripe had already disconnected it",
            "Stripe lo aveva già scollegato",
        ),
        Removal::LocalOnly => t(
            "removed here only; Stripe could not be told",
            "rimosso solo qui; non è stato possibile avvisare Stripe",
        ),
        Removal::CredentialDropped => t("credential removed here", "credenziale rimossa qui"),
    }
}

/// The facts of an audit line, in words.
pub fn audit_detail(d: &AuditDetail) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(kind) = d.auth_kind {
        parts.push(auth_kind(kind).into());
    }
    if let Some(s) = d.status {
        parts.push(status(s).into());
    }
    if let Some(p) = d.problem {
        parts.push(problem(p).into());
    }
    if let Some(ms) = d.duration_ms {
        parts.push(format!("{} {}", t("in", "in"), duration(ms)));
    }
    if let Some(r) = d.removal {
        parts.push(removal(r).into());
    }
    if let Some(legacy) = &d.legacy {
        parts.push(legacy.clone());
    }
    parts.join(" · ")
}

/// A restricted key that cannot read some lists: each list and the permission to add.
pub fn missing_permissions(missing: &[MissingPermission]) -> String {
    let lists: Vec<String> = missing
        .iter()
        .map(|m| format!("{} ({})", m.list, m.permission))
        .collect();
    let lists = lists.join(", ");
    match super::italian() {
        false => format!(
            "This key cannot read {lists}. Add Read permission for them to the key in Stripe, or create a new key, then try again."
        ),
        true => format!(
            "Questa chiave non può leggere {lists}. Aggiungi alla chiave in Stripe il permesso di lettura per questi elenchi, oppure crea una nuova chiave, poi riprova."
        ),
    }
}

/// After deleting a connection whose flow has no revocation: where to finish in Stripe.
pub fn finish_in_stripe(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::RestrictedKey => t(
            "Its key was removed here; to end access completely, delete the key in Stripe (Developers > API keys).",
            "La sua chiave è stata rimossa qui; per chiudere del tutto l'accesso, elimina la chiave in Stripe (Sviluppatori > Chiavi API).",
        ),
        _ => t(
            "Its authorization was removed here; to end access completely, uninstall the app in Stripe (Settings > Installed apps).",
            "La sua autorizzazione è stata rimossa qui; per chiudere del tutto l'accesso, disinstalla l'app in Stripe (Impostazioni > App installate).",
        ),
    }
}

/// The accessible name of a table's CSV download.
pub fn csv_of(name: &str) -> String {
    match super::italian() {
        false => format!("Download {name} as CSV"),
        true => format!("Scarica {name} in CSV"),
    }
}

/// Where the sync stands, as a sentence.
pub fn sync_state(state: shared::SyncState) -> &'static str {
    match state {
        shared::SyncState::Idle => t(
            "Up to date. Updates run on their own; Force an update fetches the latest now.",
            "Aggiornato. Gli aggiornamenti partono da soli; Forza un aggiornamento legge subito gli ultimi dati.",
        ),
        shared::SyncState::Queued => t(
            "An update is waiting to start…",
            "Un aggiornamento è in attesa di iniziare…",
        ),
        shared::SyncState::Running => t("Updating…", "Aggiornamento in corso…"),
        shared::SyncState::Error => t(
            "The last update failed. See the tables below.",
            "L'ultimo aggiornamento non è riuscito. Vedi le tabelle qui sotto.",
        ),
    }
}

/// A table's sync error in words, from its code (the server's sentence is English, for API
/// clients; the UI never shows it).
pub fn sync_error(e: &shared::SyncError) -> &'static str {
    match e.code.as_str() {
        "unauthorized" | "forbidden" | "needs_reauth" => t(
            "Stripe refused access. Re-authenticate this connection, then force an update.",
            "Stripe ha rifiutato l'accesso. Riautentica questa connessione, poi forza un aggiornamento.",
        ),
        "stripe_unavailable" => t(
            "Stripe could not be reached. The update will be tried again shortly.",
            "Stripe non è raggiungibile. L'aggiornamento verrà riprovato a breve.",
        ),
        "rate_limited" => t(
            "Stripe asked the sync to slow down; it will try again later.",
            "Stripe ha chiesto di rallentare la sincronizzazione; verrà riprovata più tardi.",
        ),
        "storage_failed" => t(
            "The data could not be stored; the sync will try again.",
            "Non è stato possibile salvare i dati; la sincronizzazione verrà riprovata.",
        ),
        _ => t("The sync failed.", "La sincronizzazione non è riuscita."),
    }
}

/// "Fresh as of 12:03:07": every change Stripe made before then is in the data.
pub fn fresh_as_of(unix_seconds: i64) -> String {
    let time = super::time_of_day(unix_seconds);
    match super::italian() {
        false => format!("Fresh as of {time}"),
        true => format!("Aggiornati alle {time}"),
    }
}

/// "Progress of customers".
pub fn progress_of(table: &str) -> String {
    match super::italian() {
        false => format!("Progress of {table}"),
        true => format!("Avanzamento di {table}"),
    }
}

/// "12 of 40", numbers in the UI's language.
pub fn progress_text(done: i64, total: i64) -> String {
    format!("{} {} {}", number(done), t("of", "di"), number(total))
}

/// "Rows read: 1,200 · pages: 12" (a first pass: how many there are is not known yet).
pub fn progress_read(done: i64, pages: i64) -> String {
    format!(
        "{}: {} · {}: {}",
        t("Rows read", "Righe lette"),
        number(done),
        t("pages", "pagine"),
        number(pages)
    )
}

/// "First rows of customers".
pub fn preview_title(table: &str) -> String {
    match super::italian() {
        false => format!("First rows of {table}"),
        true => format!("Prime righe di {table}"),
    }
}

/// A warehouse column's type, from its code (the SQL type's name, as the warehouse's readers
/// know it).
pub fn column_type(kind: shared::ColumnType) -> &'static str {
    use shared::ColumnType as K;
    match kind {
        K::Text => t("Text", "Testo"),
        K::Integer => t("Integer", "Intero"),
        K::Numeric => t("Numeric", "Numerico"),
        K::Boolean => t("Boolean", "Booleano"),
        K::Timestamp => t("Timestamp", "Data e ora"),
        K::Json => t("JSON", "JSON"),
    }
}

/// A warehouse table's summary: "customers — 12 of 14 columns tracked" (a table always has at
/// least `id` and `deleted`, so the plural holds).
pub fn table_summary(table: &str, tracked: usize, total: usize) -> String {
    let (tracked, total) = (number(tracked as i64), number(total as i64));
    match super::italian() {
        false => format!("{table} — {tracked} of {total} columns tracked"),
        true => format!("{table} — {tracked} di {total} colonne monitorate"),
    }
}

/// A warehouse table's caption: "Columns of customers".
pub fn columns_of(table: &str) -> String {
    match super::italian() {
        false => format!("Columns of {table}"),
        true => format!("Colonne di {table}"),
    }
}

/// The banner after a host key was made: the key, shown this once.
pub fn host_key_created(name: &str, key: &str) -> String {
    match super::italian() {
        false => format!(
            "Host key for {name}: {key} — copy it now into the host's backend; it will not be shown again."
        ),
        true => format!(
            "Chiave host per {name}: {key} — copiala ora nel backend del prodotto host; non verrà mostrata di nuovo."
        ),
    }
}

/// A refusal from the server, in words: from its code and reason (its `message` is English, for
/// API clients, and never shown).
pub fn refusal(e: &shared::ApiError) -> String {
    use shared::{ErrorCode as C, ErrorReason as R};
    let said = match e.reason {
        Some(R::BadCredentials) => t(
            "The email or password is incorrect.",
            "Email o password non corretti.",
        ),
        Some(R::CrossSite) => t(
            "This request did not come from this site and was refused.",
            "Questa richiesta non proviene da questo sito ed è stata rifiutata.",
        ),
        Some(R::InvalidEmail) => t(
            "Enter a valid email address.",
            "Inserisci un indirizzo email valido.",
        ),
        Some(R::PasswordTooShort) => t(
            "Passwords must be at least 12 characters long.",
            "La password deve contenere almeno 12 caratteri.",
        ),
        Some(R::PasswordTooLong) => t("That password is too long.", "La password è troppo lunga."),
        Some(R::DuplicateEmail) => t(
            "A user with this email already exists.",
            "Esiste già un utente con questa email.",
        ),
        Some(R::LastAdmin) => t(
            "This is the last Admin: make another user Admin first.",
            "Questo è l'ultimo amministratore: prima rendi amministratore un altro utente.",
        ),
        Some(R::AlreadyConnected) => t(
            "This Stripe account is already connected another way or in the other mode. Delete or re-authenticate that connection instead.",
            "Questo account Stripe è già collegato in un altro modo o nell'altra modalità. Elimina o riautentica quella connessione.",
        ),
        Some(R::AccountElsewhere) => t(
            "This Stripe account is already connected for another organization. Nothing was changed.",
            "Questo account Stripe è già collegato per un'altra organizzazione. Non è stato modificato nulla.",
        ),
        Some(R::NotRestrictedKey) => t(
            "This is not a restricted key: restricted keys start with rk_live_ or rk_test_.",
            "Questa non è una chiave con restrizioni: le chiavi con restrizioni iniziano con rk_live_ o rk_test_.",
        ),
        Some(R::ConnectionKept) => t(
            "Stripe could not be reached, so the connection was kept. Try again, or remove it here only.",
            "Stripe non è raggiungibile, quindi la connessione è stata mantenuta. Riprova, oppure rimuovila solo qui.",
        ),
        Some(R::InvalidSchema) => t(
            "A schema name uses lowercase letters, digits and underscores, does not start with a digit and has at most 63 characters.",
            "Il nome dello schema usa lettere minuscole, cifre e trattini bassi, non inizia con una cifra e ha al massimo 63 caratteri.",
        ),
        Some(R::SchemaTaken) => t(
            "Another connection already uses this schema name.",
            "Un'altra connessione usa già questo nome di schema.",
        ),
        Some(R::UnknownColumn) => t(
            "That column no longer exists. Reload the page and try again.",
            "Questa colonna non esiste più. Ricarica la pagina e riprova.",
        ),
        Some(R::ColumnRequired) => texts::always_tracked(),
        _ => match e.error {
            C::FullAccessKey => texts::full_access_key(),
            C::InvalidKey => texts::invalid_key(),
            C::OtherAccount => texts::key_other_account(),
            C::MissingPermissions => return missing_permissions(&e.missing),
            C::RateLimited => return try_again_in(e.retry_after.unwrap_or(60)),
            C::Unauthorized => t("Please sign in.", "Accedi per continuare."),
            C::Forbidden => texts::requires_admin(),
            C::NotFound => texts::not_found_hint(),
            C::UpstreamFailed => t(
                "Stripe could not be reached. Please try again in a moment.",
                "Stripe non è raggiungibile. Riprova tra poco.",
            ),
            C::Conflict => t(
                "This change conflicts with what changed meanwhile. Reload the page and try again.",
                "Questa modifica è in conflitto con ciò che è cambiato nel frattempo. Ricarica la pagina e riprova.",
            ),
            C::BadRequest => t(
                "The request was not valid. Check what you entered and try again.",
                "La richiesta non è valida. Controlla i dati inseriti e riprova.",
            ),
            C::InvalidHostKey => t(
                "The host key is unknown or revoked.",
                "La chiave host è sconosciuta o revocata.",
            ),
            C::InvalidSession => t(
                "This session is not valid here. Open the connections again from your admin console.",
                "Questa sessione non è valida qui. Riapri le connessioni dalla tua console di amministrazione.",
            ),
            C::SessionExpired => t(
                "This session has expired. Open the connections again from your admin console.",
                "Questa sessione è scaduta. Riapri le connessioni dalla tua console di amministrazione.",
            ),
            C::Internal => texts::unexpected_error(),
        },
    };
    said.into()
}

/// Too many failed sign-ins: when to try again (minutes, plural by the language's rules).
fn try_again_in(seconds: i64) -> String {
    let minutes = super::unit((seconds.max(1) + 59) / 60, "minute");
    match super::italian() {
        false => format!("Too many failed sign-in attempts. Try again in {minutes}."),
        true => format!("Troppi tentativi di accesso non riusciti. Riprova tra {minutes}."),
    }
}
