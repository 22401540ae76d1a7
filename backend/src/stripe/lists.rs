//! The seven lists of "Expected Stripe data" and the restricted-key permission each needs.

/// One of the seven lists the product reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StripeList {
    /// `/v1/customers`.
    Customers,
    /// `/v1/charges`.
    Charges,
    /// `/v1/coupons`.
    Coupons,
    /// `/v1/invoices`.
    Invoices,
    /// `/v1/plans`.
    Plans,
    /// `/v1/subscriptions` (with `status=all`: canceled ones too).
    Subscriptions,
    /// `/v1/events`.
    Events,
}

impl StripeList {
    /// All seven, in the order of the help page.
    pub const ALL: [Self; 7] = [
        Self::Customers,
        Self::Charges,
        Self::Coupons,
        Self::Invoices,
        Self::Plans,
        Self::Subscriptions,
        Self::Events,
    ];

    /// The table name (and the last path segment).
    pub fn name(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Charges => "charges",
            Self::Coupons => "coupons",
            Self::Invoices => "invoices",
            Self::Plans => "plans",
            Self::Subscriptions => "subscriptions",
            Self::Events => "events",
        }
    }

    /// The API path.
    pub fn path(self) -> String {
        format!("/v1/{}", self.name())
    }

    /// Query parameters every read of this list carries.
    pub fn base_query(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Subscriptions => &[("status", "all")],
            _ => &[],
        }
    }

    /// The restricted-key permission that allows reading it.
    pub fn permission(self) -> &'static str {
        match self {
            Self::Customers => "rak_customer_read",
            Self::Charges => "rak_charge_read",
            Self::Coupons => "rak_coupon_read",
            Self::Invoices => "rak_invoice_read",
            Self::Plans => "rak_plan_read",
            Self::Subscriptions => "rak_subscription_read",
            Self::Events => "rak_event_read",
        }
    }
}

/// A list embedded in each object of another (an invoice's lines, a subscription's items), which
/// Stripe cuts at ten items (`has_more`): the rest is read from the child list's own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildList {
    /// An invoice's `lines`: `/v1/invoices/{id}/lines`.
    InvoiceLines,
    /// A subscription's `items`: `/v1/subscription_items?subscription={id}`.
    SubscriptionItems,
}

impl ChildList {
    /// Both.
    pub const ALL: [Self; 2] = [Self::InvoiceLines, Self::SubscriptionItems];

    /// The child list of `list`'s objects, if they have one.
    pub fn of(list: StripeList) -> Option<Self> {
        match list {
            StripeList::Invoices => Some(Self::InvoiceLines),
            StripeList::Subscriptions => Some(Self::SubscriptionItems),
            _ => None,
        }
    }

    /// The list its parents are in.
    pub fn parent(self) -> StripeList {
        match self {
            Self::InvoiceLines => StripeList::Invoices,
            Self::SubscriptionItems => StripeList::Subscriptions,
        }
    }

    /// The parent's field holding it.
    pub fn field(self) -> &'static str {
        match self {
            Self::InvoiceLines => "lines",
            Self::SubscriptionItems => "items",
        }
    }

    /// Its table in the warehouse.
    pub fn table(self) -> &'static str {
        match self {
            Self::InvoiceLines => "invoice_lines",
            Self::SubscriptionItems => "subscription_items",
        }
    }

    /// The column naming each row's parent.
    pub fn parent_key(self) -> &'static str {
        match self {
            Self::InvoiceLines => "invoice_id",
            Self::SubscriptionItems => "subscription_id",
        }
    }

    /// The path and query listing the children of `parent` (an id made only of `[A-Za-z0-9_]`).
    pub fn request(self, parent: &str) -> (String, Vec<(&'static str, String)>) {
        match self {
            Self::InvoiceLines => (format!("/v1/invoices/{parent}/lines"), Vec::new()),
            Self::SubscriptionItems => (
                "/v1/subscription_items".to_owned(),
                vec![("subscription", parent.to_owned())],
            ),
        }
    }
}
