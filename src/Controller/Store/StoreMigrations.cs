namespace Hawser.Controller.Store;

/// <summary>
/// The store's schema, one numbered step at a time. A step is never edited once released;
/// a change is a new step. The database's <c>PRAGMA user_version</c> is the last step applied.
/// </summary>
internal static class StoreMigrations
{
    /// <summary>The steps, in order; step N brings the schema from version N-1 to N.</summary>
    public static readonly IReadOnlyList<string> Steps =
    [
        // 1: nodes and spec revisions.
        """
        CREATE TABLE nodes (
            name              TEXT PRIMARY KEY,
            labels_json       TEXT NOT NULL DEFAULT '{}',
            agent_version     TEXT NOT NULL DEFAULT '',
            facts             BLOB,
            first_seen        TEXT NOT NULL,
            last_seen         TEXT NOT NULL,
            desired_revision  INTEGER NOT NULL DEFAULT 0,
            applied_revision  INTEGER NOT NULL DEFAULT 0,
            last_report       BLOB
        );
        CREATE TABLE revisions (
            number       INTEGER PRIMARY KEY,
            author       TEXT NOT NULL,
            message      TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            spec_text    TEXT NOT NULL,
            spec_sha256  TEXT NOT NULL
        );
        """,
        // 2: enrollment (join tokens, issued certificates), drift counts, node events.
        """
        CREATE TABLE join_tokens (
            id           TEXT PRIMARY KEY,
            secret_hash  BLOB NOT NULL,
            created_at   TEXT NOT NULL,
            expires_at   TEXT NOT NULL,
            uses_left    INTEGER NOT NULL,
            labels_json  TEXT NOT NULL DEFAULT '{}',
            revoked      INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE certificates (
            serial      TEXT PRIMARY KEY,
            node        TEXT NOT NULL,
            issued_at   TEXT NOT NULL,
            not_after   TEXT NOT NULL,
            revoked_at  TEXT
        );
        CREATE INDEX certificates_node ON certificates(node);
        ALTER TABLE nodes ADD COLUMN drift_corrected INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE nodes ADD COLUMN last_report_at TEXT;
        CREATE TABLE node_events (
            id      INTEGER PRIMARY KEY AUTOINCREMENT,
            node    TEXT NOT NULL,
            at      TEXT NOT NULL,
            kind    TEXT NOT NULL,
            detail  TEXT NOT NULL
        );
        CREATE INDEX node_events_node ON node_events(node, id);
        """,
        // 3: the ACME account and the certificates obtained with it (keys sealed with pki/secrets.key).
        """
        CREATE TABLE acme_accounts (
            directory      TEXT PRIMARY KEY,
            key_sealed     BLOB NOT NULL,
            url            TEXT NOT NULL,
            created_at     TEXT NOT NULL
        );
        CREATE TABLE issued_certificates (
            name           TEXT PRIMARY KEY,
            domains        TEXT NOT NULL,
            chain_pem      TEXT,
            key_sealed     BLOB,
            serial         TEXT,
            not_before     TEXT,
            not_after      TEXT,
            issued_at      TEXT,
            last_error     TEXT,
            last_attempt   TEXT
        );
        """,
        // 4: rollouts. A node's pinned revision (NULL: follow the newest; 0: none) is what a rollout
        // has given it; the rollout itself is one serialized hawser.v1.Rollout per row.
        """
        ALTER TABLE nodes ADD COLUMN pinned_revision INTEGER;
        CREATE TABLE rollouts (
            id          INTEGER PRIMARY KEY,
            state       TEXT NOT NULL,
            document    BLOB NOT NULL,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        );
        """,
        // 5: the event log. Times are Unix milliseconds (UTC) so a window is an index range; node_events
        // (drift corrections only) moves into it.
        """
        CREATE TABLE events (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            at_ms     INTEGER NOT NULL,
            kind      TEXT NOT NULL,
            actor     TEXT NOT NULL,
            node      TEXT NOT NULL DEFAULT '',
            revision  INTEGER NOT NULL DEFAULT 0,
            summary   TEXT NOT NULL,
            details   TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX events_at ON events(at_ms);
        CREATE INDEX events_node ON events(node, id);
        INSERT INTO events (at_ms, kind, actor, node, revision, summary)
            SELECT CAST((julianday(at) - 2440587.5) * 86400000 AS INTEGER), 'node.drift-corrected', 'node:' || node, node,
                   CAST(substr(detail, 10) AS INTEGER), 'drift corrected at ' || detail
            FROM node_events ORDER BY id;
        DROP TABLE node_events;
        """,
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int LatestVersion => Steps.Count;
}
