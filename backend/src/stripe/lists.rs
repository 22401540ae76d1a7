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
