-- Sessions, roles and log-in throttling (API.md, Authentication and authorization).

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'operator'));

-- One row per session. Only the token's hash is kept (SHA-256, hex): the token itself is
-- shown once, at log-in. role is the user's at log-in.
CREATE TABLE sessions (
    token_hash   TEXT        PRIMARY KEY,
    user_id      UUID        NOT NULL REFERENCES users (id),
    role         TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),  -- written lazily (domain/auth/sessions.cpp)
    expires_at   TIMESTAMPTZ NOT NULL,                -- absolute: log-in + SESSION_MAX_S
    revoked_at   TIMESTAMPTZ
);
-- Ending every session of a user (password change, deletion), pruning at log-in.
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed log-ins per email (lower-case) and per client address, in a window that opens
-- at the first failure (domain/auth/throttle.cpp).
CREATE TABLE login_failures (
    scope        TEXT        NOT NULL CHECK (scope IN ('email', 'address')),
    subject      TEXT        NOT NULL,
    failures     INT         NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, subject)
);
