-- Order items come back in the order the client sent them: order_items had nothing to
-- sort by except a random UUID. Existing rows (none before orders shipped) get 0 and
-- fall back to id order.
ALTER TABLE order_items ADD COLUMN line_no INT NOT NULL DEFAULT 0;
