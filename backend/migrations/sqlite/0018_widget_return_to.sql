-- A widget whose popup was blocked finishes its flow in the host page itself: the callback sends
-- the browser back to this address (on one of the key's origins) with the outcome in the query.
ALTER TABLE widget_flows ADD COLUMN return_to TEXT;
ALTER TABLE oauth_states ADD COLUMN return_to TEXT;
