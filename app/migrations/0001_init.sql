-- Users, inventory, orders, accounts and transfers. Portable between PostgreSQL and
-- CockroachDB: TEXT, separate CREATE INDEX, gen_random_uuid().

CREATE TABLE users (
    id            UUID        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         TEXT        NOT NULL,
    username      TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at    TIMESTAMPTZ
);
-- Emails are unique case-insensitively among live users: a soft delete frees the email.
CREATE UNIQUE INDEX users_email_live ON users (lower(email)) WHERE deleted_at IS NULL;
-- Search answers newest first.
CREATE INDEX users_created_live ON users (created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE inventory (
    product_id UUID        PRIMARY KEY,
    quantity   INT         NOT NULL CHECK (quantity >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id           UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      UUID          NOT NULL REFERENCES users (id),
    status       TEXT          NOT NULL CHECK (status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    total_amount NUMERIC(20,2) NOT NULL,
    created_at   TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ   NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);

CREATE TABLE order_items (
    id         UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id   UUID          NOT NULL REFERENCES orders (id),
    product_id UUID          NOT NULL,
    quantity   INT           NOT NULL CHECK (quantity > 0),
    unit_price NUMERIC(12,2) NOT NULL CHECK (unit_price >= 0)
);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX order_items_product ON order_items (product_id);

CREATE TABLE accounts (
    id         UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id   UUID          REFERENCES users (id),
    balance    NUMERIC(20,2) NOT NULL CHECK (balance >= 0),
    created_at TIMESTAMPTZ   NOT NULL DEFAULT now()
);

CREATE TABLE transfers (
    id              UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    from_account_id UUID          NOT NULL REFERENCES accounts (id),
    to_account_id   UUID          NOT NULL REFERENCES accounts (id),
    amount          NUMERIC(20,2) NOT NULL CHECK (amount > 0),
    idempotency_key TEXT,
    request_hash    TEXT,
    created_at      TIMESTAMPTZ   NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX transfers_idempotency_key ON transfers (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX transfers_from ON transfers (from_account_id, created_at DESC, id DESC);
CREATE INDEX transfers_to ON transfers (to_account_id, created_at DESC, id DESC);
