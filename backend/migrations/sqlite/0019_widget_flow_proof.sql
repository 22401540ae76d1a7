-- A popup flow goes on to Stripe only once its popup proves it was opened by the widget that
-- started it (the widget alone holds this proof, given in the start's answer, never in a URL);
-- a full-page flow only after the user confirms the organization and host on our page.
ALTER TABLE widget_flows ADD COLUMN proof_hash TEXT;
