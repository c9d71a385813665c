-- Coxswain's state. Times are microseconds since the epoch; maps are JSON text.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    username     TEXT    NOT NULL UNIQUE,
    password     TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    first_name   TEXT    NOT NULL DEFAULT '',
    last_name    TEXT    NOT NULL DEFAULT '',
    is_superuser BIGINT  NOT NULL DEFAULT 0,
    is_active    BIGINT  NOT NULL DEFAULT 1,
    last_login   BIGINT  NOT NULL,
    date_joined  BIGINT  NOT NULL
);

CREATE TABLE tokens (
    hash    TEXT    PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created BIGINT  NOT NULL
);

CREATE TABLE apps (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid      TEXT    NOT NULL UNIQUE,
    id        TEXT    NOT NULL UNIQUE,
    owner_id  INTEGER NOT NULL REFERENCES users(id),
    structure TEXT    NOT NULL DEFAULT '{}',
    created   BIGINT  NOT NULL,
    updated   BIGINT  NOT NULL
);

CREATE TABLE app_perms (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    app     TEXT    NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    UNIQUE (app, user_id)
);

CREATE TABLE configs (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid    TEXT   NOT NULL UNIQUE,
    app     TEXT   NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    owner   TEXT   NOT NULL,
    vals    TEXT   NOT NULL DEFAULT '{}',
    memory  TEXT   NOT NULL DEFAULT '{}',
    cpu     TEXT   NOT NULL DEFAULT '{}',
    tags    TEXT   NOT NULL DEFAULT '{}',
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE builds (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid       TEXT   NOT NULL UNIQUE,
    app        TEXT   NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    owner      TEXT   NOT NULL,
    image      TEXT   NOT NULL,
    sha        TEXT   NOT NULL DEFAULT '',
    procfile   TEXT   NOT NULL DEFAULT '{}',
    dockerfile TEXT   NOT NULL DEFAULT '',
    created    BIGINT NOT NULL,
    updated    BIGINT NOT NULL
);

CREATE TABLE releases (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid    TEXT   NOT NULL UNIQUE,
    app     TEXT   NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    owner   TEXT   NOT NULL,
    version BIGINT NOT NULL,
    summary TEXT   NOT NULL,
    config  TEXT   NOT NULL REFERENCES configs(uuid) ON DELETE CASCADE,
    build   TEXT   REFERENCES builds(uuid) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (app, version)
);

CREATE TABLE containers (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid    TEXT   NOT NULL UNIQUE,
    app     TEXT   NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    release TEXT   NOT NULL REFERENCES releases(uuid) ON DELETE CASCADE,
    type    TEXT   NOT NULL,
    num     BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX containers_app ON containers (app, type);

CREATE TABLE domains (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    app     TEXT   NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    owner   TEXT   NOT NULL,
    domain  TEXT   NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE certs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    certificate TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    common_name TEXT    NOT NULL UNIQUE,
    expires     BIGINT  NOT NULL,
    created     BIGINT  NOT NULL,
    updated     BIGINT  NOT NULL
);

CREATE TABLE keys (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid        TEXT    NOT NULL UNIQUE,
    owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    public      TEXT    NOT NULL UNIQUE,
    fingerprint TEXT    NOT NULL,
    created     BIGINT  NOT NULL,
    updated     BIGINT  NOT NULL,
    UNIQUE (owner_id, fingerprint)
);

CREATE TABLE pushes (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                 TEXT   NOT NULL UNIQUE,
    app                  TEXT   NOT NULL REFERENCES apps(uuid) ON DELETE CASCADE,
    owner                TEXT   NOT NULL,
    sha                  TEXT   NOT NULL,
    fingerprint          TEXT   NOT NULL,
    receive_user         TEXT   NOT NULL,
    receive_repo         TEXT   NOT NULL,
    ssh_connection       TEXT   NOT NULL,
    ssh_original_command TEXT   NOT NULL,
    created              BIGINT NOT NULL,
    updated              BIGINT NOT NULL
);
