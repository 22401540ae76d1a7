//! Component tests in headless Chromium (`wasm-bindgen-test`): the real DOM Leptos renders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontend::components::admin_menu::AdminMenu;
use frontend::components::banner::{provide_banner, Banner, BannerRegion};
use frontend::components::data_sources_table::DataSourcesTable;
use frontend::pages::add_source::AddSourcePage;
use frontend::pages::connections::banner_for_outcome;
use frontend::strings;
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use shared::{Connection, ConnectionStatus, IntegrationKind};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh element to mount into.
fn container() -> web_sys::HtmlElement {
    let el: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&el).unwrap();
    el
}

fn all(root: &web_sys::HtmlElement, selector: &str) -> Vec<web_sys::Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn one(root: &web_sys::HtmlElement, selector: &str) -> web_sys::Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector} in {}", root.inner_html()))
}

fn text(el: &web_sys::Element) -> String {
    el.text_content().unwrap_or_default().trim().to_owned()
}

fn connection(id: i64, name: &str, status: ConnectionStatus) -> Connection {
    Connection {
        id,
        name: name.into(),
        kind: IntegrationKind::Stripe,
        account_id: format!("acct_{id}"),
        livemode: true,
        status,
        last_started_at: None,
        last_duration_ms: Some(1_500),
        created_at: 0,
        last_error: None,
        auth_kind: shared::AuthKind::Apps,
        key_last4: None,
        organization: None,
        fresh_as_of: None,
    }
}

#[wasm_bindgen_test]
fn the_table_has_the_six_columns_and_one_row_per_connection() {
    let root = container();
    let rows = vec![
        connection(1, "Acme Corp", ConnectionStatus::Success),
        connection(2, "Globex", ConnectionStatus::NeedsReauth),
    ];
    let _mounted = mount_to(
        root.clone(),
        move || view! { <DataSourcesTable connections=rows/> },
    );
    let headers: Vec<String> = all(&root, "thead th").iter().map(text).collect();
    assert_eq!(
        headers,
        [
            "Name",
            "Connection",
            "Status",
            "Last Connection Started",
            "Last Connection Duration",
            "Action"
        ]
    );
    let body_rows = all(&root, "tbody tr");
    assert_eq!(body_rows.len(), 2);
    let second = body_rows[1]
        .clone()
        .unchecked_into::<web_sys::HtmlElement>();
    assert_eq!(text(&one(&second, "th[scope=row]")), "Globex");
    let status = one(&second, ".status");
    assert_eq!(
        text(&status),
        "Needs re-authentication",
        "status is text, not colour alone"
    );
    assert!(status.class_name().contains("status-needs-reauth"));
    let cells: Vec<String> = all(&second, "td").iter().map(text).collect();
    assert_eq!(cells[0], "Stripe");
    assert_eq!(cells[2], strings::never());
    assert_eq!(cells[3], "1 second");
}

#[wasm_bindgen_test]
async fn host_organizations_add_a_column_and_a_filter() {
    use frontend::components::organization_filter::{passes, OrganizationFilter};
    let root = container();
    let rows = vec![
        connection(1, "Acme Corp", ConnectionStatus::Success),
        Connection {
            organization: Some("Globex Org".into()),
            ..connection(2, "Globex", ConnectionStatus::Success)
        },
    ];
    let chosen = RwSignal::new(String::new());
    let (table_rows, filter_rows) = (rows.clone(), rows.clone());
    let _mounted = mount_to(root.clone(), move || {
        view! {
            <OrganizationFilter rows=filter_rows chosen=chosen/>
            <DataSourcesTable connections=table_rows/>
        }
    });
    let headers: Vec<String> = all(&root, "thead th").iter().map(text).collect();
    assert_eq!(headers[1], "Organization");
    let cells: Vec<String> = all(&root, "tbody tr td:first-of-type")
        .iter()
        .map(text)
        .collect();
    assert_eq!(cells, ["This app", "Globex Org"]);
    let label = one(&root, "label[for=organization-filter]");
    assert_eq!(text(&label), "Organization");
    let options: Vec<String> = all(&root, "#organization-filter option")
        .iter()
        .map(text)
        .collect();
    assert_eq!(options, ["All organizations", "This app", "Globex Org"]);
    // Choosing one filters to it.
    let select = one(&root, "#organization-filter").unchecked_into::<web_sys::HtmlSelectElement>();
    select.set_selected_index(2);
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    tick().await;
    assert_eq!(chosen.get_untracked(), "Globex Org");
    let kept: Vec<i64> = rows
        .iter()
        .filter(|c| passes(&chosen.get_untracked(), c))
        .map(|c| c.id)
        .collect();
    assert_eq!(kept, [2]);
    select.set_selected_index(1);
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    tick().await;
    let kept: Vec<i64> = rows
        .iter()
        .filter(|c| passes(&chosen.get_untracked(), c))
        .map(|c| c.id)
        .collect();
    assert_eq!(kept, [1]);
}

#[wasm_bindgen_test]
fn an_empty_table_tells_a_first_time_admin_what_to_do() {
    let root = container();
    let _mounted = mount_to(
        root.clone(),
        || view! { <DataSourcesTable connections=vec![]/> },
    );
    let empty = one(&root, "tbody .empty-state");
    assert!(text(&empty).contains("Add a Data Source"));
    assert_eq!(
        empty
            .query_selector("td")
            .unwrap()
            .unwrap()
            .get_attribute("colspan")
            .as_deref(),
        Some("6")
    );
}

#[wasm_bindgen_test]
fn callback_outcomes_become_the_right_banners() {
    assert_eq!(
        banner_for_outcome(Some("4"), None),
        Some(Banner::success("Connection Successful!"))
    );
    let denied = banner_for_outcome(None, Some("access_denied")).unwrap();
    assert_eq!(
        denied,
        Banner::error(strings::callback_error(Some(
            shared::CallbackError::AccessDenied
        )))
    );
    let unknown = banner_for_outcome(None, Some("<img src=x>")).unwrap();
    assert_eq!(unknown.message, strings::callback_error(None));
    assert_eq!(banner_for_outcome(None, None), None);
}

#[wasm_bindgen_test]
async fn banners_are_announced_in_live_regions_and_can_be_dismissed() {
    let root = container();
    let banners = RwSignal::new(None::<frontend::components::banner::Banners>);
    let _mounted = mount_to(root.clone(), move || {
        banners.set(Some(provide_banner()));
        view! { <BannerRegion/> }
    });
    let slot = banners.get_untracked().unwrap().0;
    assert_eq!(text(&one(&root, "[role=status]")), "");
    slot.set(Some(Banner::success(strings::connection_successful())));
    tick().await;
    let status = one(&root, "[role=status]");
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    assert!(text(&status).contains("Connection Successful!"));
    assert_eq!(text(&one(&root, "[role=alert]")), "");

    slot.set(Some(Banner::error("Stripe could not be reached.")));
    tick().await;
    assert!(text(&one(&root, "[role=alert]")).contains("Stripe could not be reached."));
    let dismiss: web_sys::HtmlElement = one(&root, "[role=alert] button").unchecked_into();
    assert_eq!(
        dismiss.get_attribute("aria-label").as_deref(),
        Some(strings::dismiss())
    );
    dismiss.click();
    tick().await;
    assert_eq!(text(&one(&root, "[role=alert]")), "");
}

#[wasm_bindgen_test]
async fn the_stripe_tile_is_a_button_named_stripe_that_opens_the_authorization_page() {
    let root = container();
    let _mounted = mount_to(root.clone(), || view! { <AddSourcePage/> });
    let tiles = all(&root, ".integration-grid button");
    assert_eq!(tiles.len(), 1);
    let tile: web_sys::HtmlElement = tiles[0].clone().unchecked_into();
    assert_eq!(text(&tile), "Stripe", "accessible name from its text");
    assert_eq!(
        one(&tile, "svg").get_attribute("aria-hidden").as_deref(),
        Some("true"),
        "the mark is decorative"
    );
    tile.click();
    tick().await;
    let path = web_sys::window().unwrap().location().pathname().unwrap();
    assert_eq!(path, frontend::STRIPE_AUTHORIZE_PATH);
}

#[wasm_bindgen_test]
async fn the_authorization_page_offers_a_restricted_key_with_a_labelled_field() {
    use frontend::pages::stripe_authorize::StripeAuthorizePage;
    let root = container();
    let _mounted = mount_to(root.clone(), || view! { <StripeAuthorizePage/> });
    tick().await;
    let buttons: Vec<String> = all(&root, "button").iter().map(text).collect();
    assert!(
        buttons.contains(&strings::connect_with_stripe().to_owned()),
        "{buttons:?}"
    );
    assert!(
        buttons.contains(&strings::connect_with_key().to_owned()),
        "{buttons:?}"
    );
    assert_eq!(
        text(&one(&root, "details.restricted-key summary")),
        "Use a restricted API key"
    );
    let label = one(&root, "label[for=restricted-key]");
    assert_eq!(text(&label), "Restricted API key");
    let input = one(&root, "input#restricted-key");
    assert_eq!(
        input.get_attribute("type").as_deref(),
        Some("password"),
        "a secret is not shown"
    );
    assert_eq!(input.get_attribute("autocomplete").as_deref(), Some("off"));
    let described = input.get_attribute("aria-describedby").unwrap();
    for id in described.split(' ') {
        one(&root, &format!("#{id}"));
    }
    assert_eq!(
        one(&root, "#restricted-key-error")
            .get_attribute("role")
            .as_deref(),
        Some("alert"),
        "a refusal is announced and tied to the field"
    );
    let permissions: Vec<String> = all(&root, "details.restricted-key li")
        .iter()
        .map(text)
        .collect();
    assert_eq!(permissions.len(), 7, "{permissions:?}");
    let link = one(&root, "details.restricted-key a");
    assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
    assert!(link.get_attribute("rel").unwrap().contains("noopener"));
}

#[wasm_bindgen_test]
async fn problems_and_audit_lines_are_worded_from_their_codes() {
    use shared::{AuditAction, AuditDetail, AuthKind, Problem, Removal};
    for p in Problem::ALL {
        assert!(!strings::problem(p).is_empty());
    }
    assert_eq!(
        strings::audit_action(AuditAction::TokenRefreshed),
        "Authorization renewed"
    );
    let detail = AuditDetail {
        auth_kind: Some(AuthKind::RestrictedKey),
        removal: Some(Removal::CredentialDropped),
        ..AuditDetail::default()
    };
    assert_eq!(
        strings::audit_detail(&detail),
        "Restricted API key · credential removed here"
    );
    let missing = [shared::MissingPermission {
        list: "coupons".into(),
        permission: "rak_coupon_read".into(),
    }];
    assert!(strings::missing_permissions(&missing).contains("coupons (rak_coupon_read)"));
}

#[wasm_bindgen_test]
async fn the_admin_menu_discloses_connections() {
    let root = container();
    let _mounted = mount_to(root.clone(), || view! { <AdminMenu/> });
    let button: web_sys::HtmlElement = one(&root, "button").unchecked_into();
    assert_eq!(text(&button), "Admin");
    assert_eq!(
        button.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    assert!(one(&root, "#admin-menu").has_attribute("hidden"));
    button.click();
    tick().await;
    assert_eq!(
        button.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    let menu = one(&root, "#admin-menu");
    assert!(!menu.has_attribute("hidden"));
    let link = one(&root, "#admin-menu a");
    assert_eq!(text(&link), "Connections");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("/admin/connections")
    );
}

#[wasm_bindgen_test]
fn times_durations_and_numbers_read_like_a_person_would_say_them_in_both_languages() {
    use shared::Locale;
    strings::set_locale(Locale::En);
    assert_eq!(strings::time_ago(5), "now");
    assert_eq!(strings::time_ago(60), "1 minute ago");
    assert_eq!(strings::time_ago(5 * 60), "5 minutes ago");
    assert_eq!(strings::time_ago(2 * 3600), "2 hours ago");
    assert_eq!(strings::time_ago(86_400), "yesterday");
    assert_eq!(strings::time_ago(3 * 86_400), "3 days ago");
    assert_eq!(strings::time_ago(-10), "now");
    assert_eq!(strings::duration(250), "less than a second");
    assert_eq!(strings::duration(1_000), "1 second");
    assert_eq!(strings::duration(12_000), "12 seconds");
    assert_eq!(strings::duration(61_000), "1 minute");
    assert_eq!(strings::number(12_345), "12,345");
    assert_eq!(strings::progress_text(1_200, 40_000), "1,200 of 40,000");
    strings::set_locale(Locale::It);
    assert_eq!(strings::time_ago(5), "ora");
    assert_eq!(strings::time_ago(60), "1 minuto fa");
    assert_eq!(strings::time_ago(5 * 60), "5 minuti fa");
    assert_eq!(strings::time_ago(86_400), "ieri");
    assert_eq!(strings::time_ago(3 * 86_400), "3 giorni fa");
    assert_eq!(strings::duration(250), "meno di un secondo");
    assert_eq!(strings::duration(1_000), "1 secondo");
    assert_eq!(strings::duration(12_000), "12 secondi");
    assert_eq!(strings::duration(61_000), "1 minuto");
    assert_eq!(strings::number(12_345), "12.345");
    assert_eq!(strings::progress_text(1_200, 40_000), "1200 di 40.000");
    assert_eq!(strings::connections(), "Connessioni");
    assert_eq!(strings::connection_successful(), "Connessione riuscita!");
    strings::set_locale(Locale::En);
    assert_eq!(strings::connection_successful(), "Connection Successful!");
}

fn user(role: shared::Role) -> shared::User {
    shared::User {
        id: 7,
        email: "sam@example.com".into(),
        display_name: "Sam".into(),
        role,
        disabled: false,
        created_at: 0,
        last_sign_in_at: None,
        locale: None,
    }
}

/// Mounts the routed pages at `path` for a given signed-in user.
fn mount_routes_at(path: &str, who: Option<shared::User>) -> (web_sys::HtmlElement, impl Drop) {
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path))
        .unwrap();
    let root = container();
    let handle = mount_to(root.clone(), move || {
        let auth = frontend::session::provide_auth();
        auth.user.set(who);
        auth.checked.set(true);
        view! { <frontend::ConnectionRoutes/> }
    });
    (root, handle)
}

#[wasm_bindgen_test]
fn admin_pages_tell_other_roles_they_require_admin_permissions() {
    for role in [shared::Role::Standard, shared::Role::ReadOnly] {
        let (root, _h) = mount_routes_at("/admin/connections", Some(user(role)));
        assert_eq!(text(&one(&root, "h1")), "Requires Admin permissions");
        let (root, _h) = mount_routes_at("/admin/users", Some(user(role)));
        assert_eq!(text(&one(&root, "h1")), "Requires Admin permissions");
    }
    let (root, _h) = mount_routes_at("/admin/users", Some(user(shared::Role::Admin)));
    assert_eq!(text(&one(&root, "h1")), "Users");
}

#[wasm_bindgen_test]
fn the_sign_in_page_has_labelled_fields_and_a_sign_in_button() {
    let (root, _h) = mount_routes_at("/sign-in?next=%2Fadmin%2Fusers", None);
    assert_eq!(text(&one(&root, "h1")), "Sign in");
    for (label, kind, autocomplete) in [
        ("Email", "email", "username"),
        ("Password", "password", "current-password"),
    ] {
        let label_el = all(&root, "label")
            .into_iter()
            .find(|l| text(l) == label)
            .unwrap_or_else(|| panic!("no label {label}"));
        let input = one(
            &root,
            &format!("#{}", label_el.get_attribute("for").unwrap()),
        );
        assert_eq!(input.get_attribute("type").as_deref(), Some(kind));
        assert_eq!(
            input.get_attribute("autocomplete").as_deref(),
            Some(autocomplete)
        );
    }
    assert_eq!(text(&one(&root, "form button[type=submit]")), "Sign in");
}

#[wasm_bindgen_test]
fn after_sign_in_only_paths_on_this_site_are_followed() {
    use frontend::session::safe_next;
    assert_eq!(safe_next(Some("/admin/users?x=1")), "/admin/users?x=1");
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
    ] {
        assert_eq!(safe_next(Some(evil)), "/", "{evil}");
    }
    assert_eq!(safe_next(None), "/");
}

#[wasm_bindgen_test]
async fn a_connection_needing_reauthentication_is_fixed_by_activating_its_name() {
    use frontend::components::data_sources_table::RowActions;
    let root = container();
    let chosen = RwSignal::new(None::<(String, i64)>);
    let rows = vec![
        connection(1, "Acme Corp", ConnectionStatus::Success),
        Connection {
            last_error: Some(shared::Problem::Revoked),
            ..connection(2, "Globex", ConnectionStatus::NeedsReauth)
        },
    ];
    let _mounted = mount_to(root.clone(), move || {
        let actions = RowActions {
            test: Callback::new(move |c: Connection| chosen.set(Some(("test".into(), c.id)))),
            reauthorize: Callback::new(move |c: Connection| {
                chosen.set(Some(("reauth".into(), c.id)))
            }),
            delete: Callback::new(move |c: Connection| chosen.set(Some(("delete".into(), c.id)))),
        };
        view! { <DataSourcesTable connections=rows actions=actions/> }
    });
    let body_rows = all(&root, "tbody tr");
    let healthy: web_sys::HtmlElement = body_rows[0].clone().unchecked_into();
    assert_eq!(
        one(&healthy, "th a").get_attribute("href").as_deref(),
        Some("/admin/connections/1")
    );
    let broken: web_sys::HtmlElement = body_rows[1].clone().unchecked_into();
    let name: web_sys::HtmlElement = one(&broken, "th button").unchecked_into();
    assert!(text(&name).starts_with("Globex"));
    assert!(
        text(&name).contains("re-authentication"),
        "the name says what activating it does"
    );
    assert!(text(&one(&broken, ".status-reason")).contains("revoked"));
    name.click();
    tick().await;
    assert_eq!(chosen.get_untracked(), Some(("reauth".into(), 2)));
    let delete: web_sys::HtmlElement =
        one(&broken, "button[aria-label='Delete Globex']").unchecked_into();
    delete.click();
    tick().await;
    assert_eq!(chosen.get_untracked(), Some(("delete".into(), 2)));
    let test: web_sys::HtmlElement =
        one(&healthy, "button[aria-label='Test connection Acme Corp']").unchecked_into();
    test.click();
    tick().await;
    assert_eq!(chosen.get_untracked(), Some(("test".into(), 1)));
}

fn seven_tables(status: shared::SyncState) -> shared::SyncStatus {
    let names = [
        "customers",
        "charges",
        "coupons",
        "invoices",
        "plans",
        "subscriptions",
        "events",
    ];
    shared::SyncStatus {
        status,
        fresh_as_of: None,
        tables: names
            .iter()
            .enumerate()
            .map(|(i, name)| shared::TableSync {
                name: (*name).into(),
                rows: i as i64 * 10,
                synced_at: (i != 1).then(|| (js_sys::Date::now() / 1000.0) as i64 - 7_200),
                fresh_as_of: (i != 1).then(|| (js_sys::Date::now() / 1000.0) as i64 - 7_500),
                // A table synced before expects its last count; one never synced (charges) only
                // knows what it has read.
                progress: (i < 2).then_some(shared::SyncProgress {
                    done: 4,
                    total: 10,
                    pages: 2,
                    expected: i == 0,
                }),
                error: (i == 1).then(|| shared::SyncError {
                    code: "storage_failed".into(),
                    message: "The rows could not be stored.".into(),
                }),
            })
            .collect(),
    }
}

#[wasm_bindgen_test]
async fn the_data_section_lists_the_seven_tables_with_progress_and_errors() {
    use frontend::components::data_section::SyncView;
    let root = container();
    let status = RwSignal::new(Some(Ok(seven_tables(shared::SyncState::Running))));
    let forced = RwSignal::new(0);
    let _mounted = mount_to(root.clone(), move || {
        let force = Callback::new(move |()| forced.update(|n| *n += 1));
        view! { <SyncView id=1 status force/> }
    });
    let section = one(&root, "section[aria-labelledby]");
    let title = section.get_attribute("aria-labelledby").unwrap();
    assert_eq!(text(&one(&root, &format!("h2#{title}"))), "Data");
    let headers: Vec<String> = all(&root, ".sync-tables thead th[scope=col]")
        .iter()
        .map(text)
        .collect();
    assert!(headers.contains(&"Rows".to_owned()), "{headers:?}");
    assert!(headers.contains(&"Last synced".to_owned()), "{headers:?}");
    let rows = all(&root, ".sync-tables tbody tr");
    assert_eq!(rows.len(), 7);
    assert_eq!(text(&one(&root, "tbody tr[data-table=plans] th")), "plans");
    assert_eq!(text(&one(&root, "tbody tr[data-table=plans] td")), "40");
    assert_eq!(
        text(&one(&root, "tbody tr[data-table=plans] time")),
        "2 hours ago"
    );
    assert!(text(&one(&root, "tbody tr[data-table=charges]")).contains("Never"));
    // A progress bar with a name while a table has progress; none elsewhere.
    let progress = all(&root, "progress");
    assert_eq!(progress.len(), 2);
    assert_eq!(
        progress[0].get_attribute("aria-label").as_deref(),
        Some("Progress of customers")
    );
    assert_eq!(progress[0].get_attribute("value").as_deref(), Some("4"));
    assert_eq!(progress[0].get_attribute("max").as_deref(), Some("10"));
    // A first pass: Stripe has not said how many there are, so the bar is indeterminate (no
    // value) and says what was read.
    assert_eq!(
        progress[1].get_attribute("aria-label").as_deref(),
        Some("Progress of charges")
    );
    assert_eq!(progress[1].get_attribute("value"), None);
    assert!(text(&one(&root, "tbody tr[data-table=charges]")).contains("Rows read: 4 · pages: 2"));
    // Errors in plain words.
    assert!(text(&one(&root, "tbody tr[data-table=charges]")).contains("could not be stored"));
    // The status in words, announced politely; Force an update is off while a sync runs.
    let live = one(&root, "[aria-live=polite]");
    assert_eq!(text(&live), strings::sync_state(shared::SyncState::Running));
    let force: web_sys::HtmlButtonElement = all(&root, "button")
        .into_iter()
        .find(|b| text(b) == "Force an update")
        .unwrap()
        .unchecked_into();
    assert!(force.disabled());
    // Each table has a named Preview button.
    one(&root, "button[aria-label='Preview customers']");
    one(&root, "button[aria-label='Preview events']");
    // And a named CSV download of the whole table.
    let csv = one(&root, "a[aria-label='Download customers as CSV']");
    assert!(csv.has_attribute("download"));
    assert!(csv
        .get_attribute("href")
        .unwrap()
        .ends_with("/tables/customers.csv"));
    // No table complete yet: no freshness to tell.
    assert_eq!(text(&one(&root, ".fresh-as-of")), "");
    // Idle: the button works, and the data is fresh as of the oldest table's time.
    let mut idle = seven_tables(shared::SyncState::Idle);
    idle.fresh_as_of = Some(1_700_000_000);
    status.set(Some(Ok(idle)));
    tick().await;
    assert!(!force.disabled());
    assert_eq!(text(&live), strings::sync_state(shared::SyncState::Idle));
    let fresh = text(&one(&root, ".fresh-as-of"));
    assert_eq!(fresh, strings::fresh_as_of(1_700_000_000));
    assert!(fresh.starts_with("Fresh as of "), "{fresh}");
    force.click();
    tick().await;
    assert_eq!(forced.get_untracked(), 1);
}

#[wasm_bindgen_test]
fn known_sync_error_codes_are_worded_by_the_ui() {
    let e = |code: &str| shared::SyncError {
        code: code.into(),
        message: "server words".into(),
    };
    assert!(strings::sync_error(&e("forbidden")).contains("Re-authenticate"));
    assert!(strings::sync_error(&e("stripe_unavailable")).contains("tried again"));
    // The server's English sentence is never shown: an unknown code reads as a plain failure.
    assert_eq!(strings::sync_error(&e("other")), "The sync failed.");
}
