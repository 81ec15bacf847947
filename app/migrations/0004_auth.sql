-- Sessions, roles and log-in throttling (API.md, Authentication and authorization).

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'operator'));
-- Moves on at every password change and at deletion: a session opened under another
-- epoch is refused (domain/auth/sessions.cpp), including one whose log-in checked the old
-- password while the change committed.
ALTER TABLE users ADD COLUMN session_epoch INT NOT NULL DEFAULT 0;

-- One row per session. Only the token's hash is kept (SHA-256, hex): the token itself is
-- shown once, at log-in. role and epoch are the user's at log-in (the role in force is
-- read from users at each lookup).
CREATE TABLE sessions (
    token_hash   TEXT        PRIMARY KEY,
    user_id      UUID        NOT NULL REFERENCES users (id),
    role         TEXT        NOT NULL,
    epoch        INT         NOT NULL,
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
