//! The UI's fixed texts, English / Italian. The bold labels of the product's help page keep their
//! English wording word for word; the Italian ones follow the README's glossary.

use super::t;

/// One function per text, answering in the UI's language.
macro_rules! texts {
    ($($(#[$doc:meta])* $name:ident = $en:literal / $it:literal;)*) => {
        $($(#[$doc])* pub fn $name() -> &'static str { t($en, $it) })*
    };
}

texts! {
    app_name = "Insights"
        / "Insights";
    skip_to_content = "Skip to content"
        / "Vai al contenuto";
    main_nav = "Main"
        / "Principale";
    admin_menu = "Admin"
        / "Amministrazione";
    connections = "Connections"
        / "Connessioni";
    connections_intro = "Connect the services your reports read from. Only administrators can add or change data sources."
        / "Collega i servizi da cui leggono i tuoi report. Solo gli amministratori possono aggiungere o modificare le origini dati.";
    data_sources = "Data Sources"
        / "Origini dati";
    add_data_source = "Add a Data Source"
        / "Aggiungi un'origine dati";
    loading = "Loading…"
        / "Caricamento…";
    empty_title = "No data sources yet."
        / "Nessuna origine dati.";
    empty_hint = "Click Add a Data Source, choose Stripe and sign in to your Stripe account to start reading your payment and invoice data."
        / "Fai clic su Aggiungi un'origine dati, scegli Stripe e accedi al tuo account Stripe per iniziare a leggere i dati di pagamenti e fatture.";
    load_failed = "The data sources could not be loaded."
        / "Non è stato possibile caricare le origini dati.";
    retry = "Try again"
        / "Riprova";
    col_name = "Name"
        / "Nome";
    col_connection = "Connection"
        / "Connessione";
    col_status = "Status"
        / "Stato";
    col_last_started = "Last Connection Started"
        / "Ultima connessione avviata";
    col_last_duration = "Last Connection Duration"
        / "Durata ultima connessione";
    col_action = "Action"
        / "Azione";
    /// The column and filter naming a connection's organization (host products' connections).
    col_organization = "Organization"
        / "Organizzazione";
    all_organizations = "All organizations"
        / "Tutte le organizzazioni";
    /// The organization of the app's own connections.
    own_organization = "This app"
        / "Questa app";
    never = "Never"
        / "Mai";
    test_mode = "test mode"
        / "modalità test";
    stripe = "Stripe"
        / "Stripe";
    choose_integration = "Choose the service to connect."
        / "Scegli il servizio da collegare.";
    integrations = "Integrations"
        / "Integrazioni";
    back_to_connections = "Back to Connections"
        / "Torna a Connessioni";
    back_to_integrations = "Back to integrations"
        / "Torna alle integrazioni";
    stripe_authorization = "Stripe authorization"
        / "Autorizzazione Stripe";
    stripe_auth_what = "Connecting lets this product read your Stripe account's customers, charges, coupons, invoices, plans, subscriptions and events to build your reports."
        / "Collegando l'account, questo prodotto può leggere clienti, addebiti, coupon, fatture, piani, abbonamenti ed eventi del tuo account Stripe per creare i tuoi report.";
    stripe_auth_read_only = "Access is read-only: nothing in your Stripe account can be changed from here, and you can remove the connection at any time."
        / "L'accesso è in sola lettura: da qui non si può modificare nulla nel tuo account Stripe, e puoi rimuovere la connessione in qualsiasi momento.";
    stripe_auth_how = "You will sign in on Stripe's own page; your Stripe password is never shared with us. Stripe then sends you back here."
        / "Accederai dalla pagina di Stripe: la tua password Stripe non viene mai condivisa con noi. Poi Stripe ti riporta qui.";
    demo_mode_note = "Demo mode: no Stripe credentials are configured, so you will be sent to the local Stripe emulator instead of Stripe."
        / "Modalità demo: non sono configurate credenziali Stripe, quindi verrai indirizzato all'emulatore Stripe locale invece che a Stripe.";
    connect_with_stripe = "Connect with Stripe"
        / "Connetti con Stripe";
    redirecting = "Opening Stripe…"
        / "Apertura di Stripe…";
    connection_successful = "Connection Successful!"
        / "Connessione riuscita!";
    dismiss = "Dismiss message"
        / "Chiudi il messaggio";
    not_found_title = "Page not found"
        / "Pagina non trovata";
    not_found_hint = "There is nothing at this address."
        / "A questo indirizzo non c'è nulla.";
    network_error = "The server could not be reached. Check your connection and try again."
        / "Impossibile raggiungere il server. Controlla la connessione e riprova.";
    unexpected_error = "Something went wrong on our side. Please try again."
        / "Si è verificato un problema da parte nostra. Riprova.";
    sign_in_title = "Sign in"
        / "Accedi";
    email = "Email"
        / "Email";
    password = "Password"
        / "Password";
    sign_in = "Sign in"
        / "Accedi";
    signing_in = "Signing in…"
        / "Accesso in corso…";
    sign_out = "Sign out"
        / "Esci";
    user_menu = "Account"
        / "Account";
    language = "Language"
        / "Lingua";
    browser_language = "Browser language"
        / "Lingua del browser";
    signed_in_as = "Signed in as"
        / "Accesso eseguito come";
    requires_admin = "Requires Admin permissions"
        / "Richiede autorizzazioni di amministratore";
    requires_admin_hint = "Only administrators can open this page. Ask an Admin of your organization if you need access."
        / "Solo gli amministratori possono aprire questa pagina. Se ti serve l'accesso, chiedi a un amministratore della tua organizzazione.";
    home_title = "Welcome"
        / "Benvenuto";
    home_hint = "Your reports will appear here. Data sources are managed by administrators under Admin > Connections."
        / "Qui compariranno i tuoi report. Le origini dati sono gestite dagli amministratori in Amministrazione > Connessioni.";
    users = "Users"
        / "Utenti";
    users_intro = "Add people, choose what they may do, and disable accounts that should no longer sign in."
        / "Aggiungi persone, scegli cosa possono fare e disattiva gli account che non devono più accedere.";
    col_email = "Email"
        / "Email";
    col_user_name = "Name"
        / "Nome";
    col_role = "Role"
        / "Ruolo";
    col_user_status = "Status"
        / "Stato";
    col_last_sign_in = "Last sign-in"
        / "Ultimo accesso";
    active = "Active"
        / "Attivo";
    disabled = "Disabled"
        / "Disattivato";
    disable = "Disable"
        / "Disattiva";
    enable = "Enable"
        / "Attiva";
    add_user = "Add user"
        / "Aggiungi utente";
    display_name = "Name"
        / "Nome";
    /// A user's role control, before their email.
    role_for = "Role for"
        / "Ruolo per";
    role_label = "Role"
        / "Ruolo";
    password_optional = "Password (optional)"
        / "Password (facoltativa)";
    password_optional_hint = "At least 12 characters. Leave empty to generate a one-time password."
        / "Almeno 12 caratteri. Lascia vuoto per generare una password monouso.";
    user_added = "User added."
        / "Utente aggiunto.";
    user_updated = "User updated."
        / "Utente aggiornato.";
    test_connection = "Test connection"
        / "Verifica connessione";
    details = "Details"
        / "Dettagli";
    delete = "Delete"
        / "Elimina";
    cancel = "Cancel"
        / "Annulla";
    remove_here_only = "Remove here only"
        / "Rimuovi solo qui";
    reauth_hint = "needs re-authentication: activate to connect again"
        / "riautenticazione necessaria: attiva per connettere di nuovo";
    history = "History"
        / "Cronologia";
    col_when = "When"
        / "Quando";
    col_who = "Who"
        / "Chi";
    col_what = "What"
        / "Cosa";
    col_details = "Details"
        / "Dettagli";
    account = "Stripe account"
        / "Account Stripe";
    mode = "Mode"
        / "Modalità";
    live_mode = "live"
        / "live";
    last_error = "Last problem"
        / "Ultimo problema";
    connected_with = "Connected with"
        / "Connesso con";
    use_restricted_key = "Use a restricted API key"
        / "Usa una chiave API con restrizioni";
    restricted_key_intro = "Instead of signing in, you can create a restricted key in Stripe with read access to exactly what reports need, and paste it here. Grant Read on:"
        / "Invece di accedere, puoi creare in Stripe una chiave con restrizioni che legga esattamente ciò che serve ai report, e incollarla qui. Concedi la lettura su:";
    restricted_key_account_hint = "Read on Account details too lets the connection show your account's name."
        / "Concedendo anche la lettura dei dettagli dell'account, la connessione mostra il nome del tuo account.";
    create_key_in_stripe = "Create a restricted key in Stripe (opens in a new tab)"
        / "Crea una chiave con restrizioni in Stripe (si apre in una nuova scheda)";
    restricted_api_key = "Restricted API key"
        / "Chiave API con restrizioni";
    restricted_key_field_hint = "Starts with rk_live_ or rk_test_. It is stored encrypted and never shown again, except its last four characters."
        / "Inizia con rk_live_ o rk_test_. Viene salvata cifrata e non viene più mostrata, tranne gli ultimi quattro caratteri.";
    connect_with_key = "Connect with key"
        / "Connetti con la chiave";
    connection_name = "Connection name (optional)"
        / "Nome della connessione (facoltativo)";
    connection_name_hint = "Used when the key may not read your account's name (no Read on Account details)."
        / "Usato quando la chiave non può leggere il nome del tuo account (senza lettura dei dettagli dell'account).";
    checking_key = "Checking the key with Stripe…"
        / "Verifica della chiave con Stripe…";
    replacing_key_for = "Paste a new restricted key for this account:"
        / "Incolla una nuova chiave con restrizioni per questo account:";
    full_access_key = "This is a secret key (sk_…): it has full write access to your Stripe account, which a reporting tool must never hold. Create a restricted key with read permissions instead."
        / "Questa è una chiave segreta (sk_…): ha accesso completo in scrittura al tuo account Stripe, che uno strumento di reporting non deve mai avere. Crea invece una chiave con restrizioni e permessi di lettura.";
    invalid_key = "Stripe does not accept this key. Check that you copied all of it, and that it starts with rk_live_ or rk_test_ and was not deleted or rolled."
        / "Stripe non accetta questa chiave. Controlla di averla copiata per intero, che inizi con rk_live_ o rk_test_ e che non sia stata eliminata o sostituita.";
    key_other_account = "This key belongs to another Stripe account than this connection's. Nothing was changed."
        / "Questa chiave appartiene a un account Stripe diverso da quello della connessione. Non è stato modificato nulla.";
    data = "Data"
        / "Dati";
    force_update = "Force an update"
        / "Forza un aggiornamento";
    col_table = "Table"
        / "Tabella";
    col_rows = "Rows"
        / "Righe";
    col_last_synced = "Last synced"
        / "Ultima sincronizzazione";
    col_progress = "Progress"
        / "Avanzamento";
    preview = "Preview"
        / "Anteprima";
    /// The link that downloads a table as CSV.
    csv = "CSV"
        / "CSV";
    /// What a screen reader hears for a null cell of a preview (the eye sees a dash).
    empty_cell = "empty"
        / "vuoto";
    no_rows = "No rows yet."
        / "Ancora nessuna riga.";
    more_rows = "More rows follow."
        / "Seguono altre righe.";
    sync_load_failed = "The data's state could not be loaded."
        / "Non è stato possibile caricare lo stato dei dati.";
    host_keys = "Host keys"
        / "Chiavi host";
    host_keys_intro = "Products that embed the Connections widget in their own admin console. Each has a key its backend keeps secret and the origins allowed to embed the widget."
        / "Prodotti che incorporano il widget Connessioni nella propria console di amministrazione. Ognuno ha una chiave che il suo backend tiene segreta e le origini autorizzate a incorporare il widget.";
    no_host_keys = "No host product embeds the widget yet."
        / "Nessun prodotto host incorpora ancora il widget.";
    add_host_key = "Add a host key"
        / "Aggiungi una chiave host";
    host_product = "Host product"
        / "Prodotto host";
    allowed_origins = "Allowed origins"
        / "Origini consentite";
    allowed_origins_hint = "One per line, like https://admin.example.com"
        / "Una per riga, ad esempio https://admin.example.com";
    col_origins = "Origins"
        / "Origini";
    col_key = "Key"
        / "Chiave";
    revoke = "Revoke"
        / "Revoca";
    revoked = "Revoked"
        / "Revocata";
    host_key_revoked = "The host key was revoked: its widget sessions ended."
        / "La chiave host è stata revocata: le sue sessioni del widget sono terminate.";
    popup_blocked = "Your browser blocked the Stripe window. Allow pop-ups for this page and try again, or continue in this window."
        / "Il browser ha bloccato la finestra di Stripe. Consenti i pop-up per questa pagina e riprova, oppure continua in questa finestra.";
    popup_closed = "The Stripe window was closed before the connection finished. Try again, or continue in this window."
        / "La finestra di Stripe è stata chiusa prima che la connessione fosse completata. Riprova, oppure continua in questa finestra.";
    continue_in_this_window = "Continue in this window"
        / "Continua in questa finestra";
    stripe_window_open = "Finish connecting in the Stripe window."
        / "Completa la connessione nella finestra di Stripe.";
    close = "Close"
        / "Chiudi";
    /// The connection page's section for the warehouse its tables are written to (SPEC §6.3).
    warehouse_manager = "Data Warehouse Manager"
        / "Gestione del data warehouse";
    warehouse_intro = "Choose the schema this connection's Stripe data is written to, and which columns each table keeps. Changes apply when you save."
        / "Scegli lo schema in cui vengono scritti i dati Stripe di questa connessione e quali colonne conserva ogni tabella. Le modifiche si applicano al salvataggio.";
    warehouse_load_failed = "The Data Warehouse settings could not be loaded."
        / "Non è stato possibile caricare le impostazioni del data warehouse.";
    schema = "Schema"
        / "Schema";
    schema_hint = "Lowercase letters, digits and underscores, not starting with a digit; at most 63 characters."
        / "Lettere minuscole, cifre e trattini bassi, senza iniziare con una cifra; al massimo 63 caratteri.";
    /// Why `id` and `deleted` cannot be unticked (also the server's `column_required`, worded).
    always_tracked = "The id and deleted columns are always tracked."
        / "Le colonne id e deleted sono sempre monitorate.";
    col_column = "Column"
        / "Colonna";
    col_type = "Type"
        / "Tipo";
    col_tracked = "Tracked"
        / "Monitorata";
    save = "Save"
        / "Salva";
    saving = "Saving…"
        / "Salvataggio in corso…";
    warehouse_saved = "Data Warehouse settings saved."
        / "Impostazioni del data warehouse salvate.";
}

/// The seven Read permissions a restricted key needs, as Stripe's Dashboard names them in each
/// language.
pub fn restricted_key_permissions() -> [&'static str; 7] {
    [
        t("Customers", "Clienti"),
        t("Charges", "Addebiti"),
        t("Coupons", "Coupon"),
        t("Invoices", "Fatture"),
        t("Products (plans)", "Prodotti (piani)"),
        t("Subscriptions", "Abbonamenti"),
        t("Events", "Eventi"),
    ]
}
