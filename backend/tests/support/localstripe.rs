//! localstripe (PyPI), a fake but stateful Stripe API, as a child process: started on a free port
//! from `.tools/localstripe` (installed by `scripts/setup.sh`), killed on drop; and helpers that fill
//! it with a realistic data set through its HTTP API, form-encoded as Stripe takes it.
//!
//! What localstripe does differently from Stripe, as far as these helpers care: lists come oldest
//! first (invoices newest `date` first), `tok_visa` and friends do not exist (a token is made from a
//! test card number instead), coupons need an `id`, and unknown list parameters are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oauth2::reqwest;
use serde_json::Value;
use url::Url;

/// An API key localstripe accepts (any `sk_…` is).
pub const KEY: &str = "sk_test_localstripe0123456789";

/// The seven lists, by path segment, in the product's order.
pub fn lists() -> [&'static str; 7] {
    backend::stripe::lists::StripeList::ALL.map(backend::stripe::lists::StripeList::name)
}

/// Where `scripts/setup.sh` installs localstripe.
pub fn binary() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/localstripe/bin/localstripe"
    ))
}

/// A running localstripe; killed when dropped.
pub struct LocalStripe {
    child: Child,
    /// Its base URL, `http://127.0.0.1:<port>/`.
    pub url: Url,
    http: reqwest::Client,
    log: PathBuf,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl LocalStripe {
    /// Starts localstripe on a free port (`--from-scratch`) and waits until it answers.
    pub async fn start() -> Self {
        let binary = binary();
        assert!(
            binary.exists(),
            "localstripe is not installed at {}: run `bash scripts/setup.sh` first",
            binary.display()
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        // Another process may take the port between our probe and localstripe's bind: try again.
        for _ in 0..5 {
            let port = free_port();
            let log =
                std::env::temp_dir().join(format!("localstripe-{}-{port}.log", std::process::id()));
            let child = Command::new(&binary)
                .args(["--port", &port.to_string(), "--from-scratch"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
            let mut server = Self {
                child,
                url: Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
                http: http.clone(),
                log,
            };
            if server.ready().await {
                return server;
            }
        }
        panic!("localstripe did not start");
    }

    /// Waits until it answers a list read (true), or has exited (false, e.g. its port was taken).
    async fn ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            let answer = self
                .http
                .get(self.url.join("v1/customers?limit=1").unwrap())
                .bearer_auth(KEY)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("localstripe did not answer within 30 s; its log:\n{log}");
    }

    async fn answer(&self, what: &str, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, json)
    }

    /// `GET /v1/{path}?query`: the status and the JSON answer.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let url = self.url.join(&format!("v1/{path}")).unwrap();
        self.answer(path, self.http.get(url).query(query)).await
    }

    /// `POST /v1/{path}` with a form body; the object (panics unless 2xx).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let url = self.url.join(&format!("v1/{path}")).unwrap();
        let (status, body) = self.answer(path, self.http.post(url).form(form)).await;
        assert!(
            (200..300).contains(&status),
            "POST {path} {form:?}: {status} {body}"
        );
        body
    }

    /// `DELETE /v1/{path}`; the answer (panics unless 2xx).
    pub async fn delete(&self, path: &str) -> Value {
        let url = self.url.join(&format!("v1/{path}")).unwrap();
        let (status, body) = self.answer(path, self.http.delete(url)).await;
        assert!(
            (200..300).contains(&status),
            "DELETE {path}: {status} {body}"
        );
        body
    }

    /// Every object of a list (`subscriptions` with `status=all`), by id, read 100 at a time.
    pub async fn list_all(&self, list: &str) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("limit", "100")];
            if list == "subscriptions" {
                query.push(("status", "all"));
            }
            if let Some(after) = &after {
                query.push(("starting_after", after));
            }
            let (status, page) = self.get(list, &query).await;
            assert_eq!(status, 200, "GET /v1/{list}: {page}");
            let data = page["data"].as_array().unwrap();
            for o in data {
                let id = o["id"].as_str().unwrap().to_owned();
                assert!(out.insert(id, o.clone()).is_none(), "{list} repeats an id");
            }
            after = data.last().map(|o| o["id"].as_str().unwrap().to_owned());
            if !page["has_more"].as_bool().unwrap() || after.is_none() {
                return out;
            }
        }
    }

    /// Every id of a list.
    pub async fn list_ids(&self, list: &str) -> BTreeSet<String> {
        self.list_all(list).await.into_keys().collect()
    }

    /// A card token for Stripe's test Visa (localstripe has no `tok_visa`).
    pub async fn card_token(&self) -> String {
        let token = self
            .post(
                "tokens",
                &[
                    ("card[number]", "4242424242424242"),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        token["id"].as_str().unwrap().to_owned()
    }

    /// A customer paying by the test Visa; its id.
    pub async fn customer_with_card(&self, name: &str, email: &str) -> String {
        let token = self.card_token().await;
        let customer = self
            .post(
                "customers",
                &[
                    ("name", name),
                    ("email", email),
                    ("description", "created by the localstripe tests"),
                    ("metadata[source]", "tests"),
                    ("source", &token),
                ],
            )
            .await;
        customer["id"].as_str().unwrap().to_owned()
    }

    /// A plan with its product made inline; its id.
    pub async fn plan(&self, id: &str, product: &str, amount: &str, interval: &str) -> String {
        let plan = self
            .post(
                "plans",
                &[
                    ("id", id),
                    ("amount", amount),
                    ("currency", "usd"),
                    ("interval", interval),
                    ("nickname", product),
                    ("product[name]", product),
                ],
            )
            .await;
        plan["id"].as_str().unwrap().to_owned()
    }

    /// A subscription of `customer` to `plan`: localstripe invoices and charges it at once.
    pub async fn subscribe(&self, customer: &str, plan: &str) -> Value {
        let subscription = self
            .post(
                "subscriptions",
                &[("customer", customer), ("items[0][plan]", plan)],
            )
            .await;
        assert_eq!(subscription["status"], "active", "{subscription}");
        subscription
    }

    /// Cancels a subscription now (`DELETE`): it stays, `status: canceled`.
    pub async fn cancel(&self, subscription: &str) -> Value {
        let canceled = self.delete(&format!("subscriptions/{subscription}")).await;
        assert_eq!(canceled["status"], "canceled", "{canceled}");
        canceled
    }
}

/// What [`create_data_set`] made.
#[derive(Debug, Clone)]
pub struct DataSet {
    /// Customers with a card (each but the last has a subscription).
    pub customers: Vec<String>,
    /// A customer without a payment method.
    pub lead: String,
    /// `plan_basic_monthly`, `plan_pro_yearly`, `plan_legacy_monthly` (no subscriber).
    pub plans: Vec<String>,
    /// `WELCOME10` (10 % once), `FIVEOFF` ($5 for 3 months).
    pub coupons: Vec<String>,
    /// The active subscriptions.
    pub active: Vec<String>,
    /// The one canceled subscription.
    pub canceled: String,
    /// A one-off charge (not from an invoice).
    pub one_off_charge: String,
}

/// A realistic small account: 5 customers with cards and one without, 3 plans (their products
/// made inline), 2 coupons, 4 subscriptions of which one is canceled (each with its paid invoice and
/// its charge), a one-off charge, and the events all that emitted.
pub async fn create_data_set(ls: &LocalStripe) -> DataSet {
    let mut customers = Vec::new();
    for (name, email) in [
        ("Ada Lovelace", "ada@example.test"),
        ("Grace Hopper", "grace@example.test"),
        ("Alan Turing", "alan@example.test"),
        ("Edsger Dijkstra", "edsger@example.test"),
        ("Barbara Liskov", "barbara@example.test"),
    ] {
        customers.push(ls.customer_with_card(name, email).await);
    }
    let lead = ls
        .post(
            "customers",
            &[
                ("name", "Lead Without Card"),
                ("email", "lead@example.test"),
            ],
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plans = vec![
        ls.plan("plan_basic_monthly", "Basic", "900", "month").await,
        ls.plan("plan_pro_yearly", "Pro", "9900", "year").await,
        ls.plan("plan_legacy_monthly", "Legacy", "500", "month")
            .await,
    ];
    let mut coupons = Vec::new();
    for form in [
        &[
            ("id", "WELCOME10"),
            ("percent_off", "10"),
            ("duration", "once"),
        ][..],
        &[
            ("id", "FIVEOFF"),
            ("amount_off", "500"),
            ("currency", "usd"),
            ("duration", "repeating"),
            ("duration_in_months", "3"),
        ][..],
    ] {
        coupons.push(
            ls.post("coupons", form).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut active = Vec::new();
    for (i, customer) in customers.iter().take(4).enumerate() {
        let plan = &plans[i % 2];
        active.push(
            ls.subscribe(customer, plan).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let canceled = active.remove(3);
    ls.cancel(&canceled).await;
    let one_off_charge = ls
        .post(
            "charges",
            &[
                ("amount", "2500"),
                ("currency", "usd"),
                ("customer", &customers[0]),
                ("description", "Onboarding fee"),
            ],
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    DataSet {
        customers,
        lead,
        plans,
        coupons,
        active,
        canceled,
        one_off_charge,
    }
}
