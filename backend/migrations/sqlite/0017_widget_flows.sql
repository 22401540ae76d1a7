-- An OAuth flow started by a widget: its token holder gets a link to our /widget/authorize page
-- (opened in the popup); that page, once, binds the flow to the popup's browser with a cookie and
-- goes on to Stripe. The callback then answers the widget's window, from the origin it started in.
CREATE TABLE widget_flows (
    flow_hash       TEXT    PRIMARY KEY NOT NULL,
    organization_id BIGINT  NOT NULL REFERENCES organizations (id),
    origin          TEXT    NOT NULL,
    connection_id   BIGINT,
    actor           TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);
ALTER TABLE oauth_states ADD COLUMN widget_origin TEXT;
ALTER TABLE oauth_states ADD COLUMN actor TEXT;
