using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>
/// One schema step: its SQL (placeholders rendered by the engine), then, when the step converts data SQL cannot
/// (a serialized message into rows), its code; both in the migration's transaction.
/// </summary>
internal sealed record StoreMigration(string Sql, Action<DbConnection, DbTransaction, StoreEngine>? Code = null)
{
    /// <summary>A step that is SQL only.</summary>
    public static implicit operator StoreMigration(string sql) => new(sql);
}

/// <summary>
/// The store's schema, one numbered step at a time, written once for both engines: the few type names
/// they spell differently are placeholders the engine renders (<c>{int}</c> a 64-bit integer, <c>{blob}</c>
/// bytes, <c>{id}</c> an increasing key, <c>{unix_ms:COLUMN}</c> an ISO time as Unix milliseconds); SQLite's
/// rendering is the text released before PostgreSQL was added. A step is never edited once released; a
/// change is a new step. The engine records the last step applied (SQLite's <c>PRAGMA user_version</c>,
/// PostgreSQL's <c>hawser_schema</c> row).
/// </summary>
internal static class StoreMigrations
{
    /// <summary>The steps, in order; step N brings the schema from version N-1 to N.</summary>
    public static readonly IReadOnlyList<StoreMigration> Steps =
    [
        // 1: nodes and spec revisions.
        """
        CREATE TABLE nodes (
            name              TEXT PRIMARY KEY,
            labels_json       TEXT NOT NULL DEFAULT '{}',
            agent_version     TEXT NOT NULL DEFAULT '',
            facts             {blob},
            first_seen        TEXT NOT NULL,
            last_seen         TEXT NOT NULL,
            desired_revision  {int} NOT NULL DEFAULT 0,
            applied_revision  {int} NOT NULL DEFAULT 0,
            last_report       {blob}
        );
        CREATE TABLE revisions (
            number       {int} PRIMARY KEY,
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
            secret_hash  {blob} NOT NULL,
            created_at   TEXT NOT NULL,
            expires_at   TEXT NOT NULL,
            uses_left    {int} NOT NULL,
            labels_json  TEXT NOT NULL DEFAULT '{}',
            revoked      {int} NOT NULL DEFAULT 0
        );
        CREATE TABLE certificates (
            serial      TEXT PRIMARY KEY,
            node        TEXT NOT NULL,
            issued_at   TEXT NOT NULL,
            not_after   TEXT NOT NULL,
            revoked_at  TEXT
        );
        CREATE INDEX certificates_node ON certificates(node);
        ALTER TABLE nodes ADD COLUMN drift_corrected {int} NOT NULL DEFAULT 0;
        ALTER TABLE nodes ADD COLUMN last_report_at TEXT;
        CREATE TABLE node_events (
            id      {id},
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
            key_sealed     {blob} NOT NULL,
            url            TEXT NOT NULL,
            created_at     TEXT NOT NULL
        );
        CREATE TABLE issued_certificates (
            name           TEXT PRIMARY KEY,
            domains        TEXT NOT NULL,
            chain_pem      TEXT,
            key_sealed     {blob},
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
        ALTER TABLE nodes ADD COLUMN pinned_revision {int};
        CREATE TABLE rollouts (
            id          {int} PRIMARY KEY,
            state       TEXT NOT NULL,
            document    {blob} NOT NULL,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        );
        """,
        // 5: the event log. Times are Unix milliseconds (UTC) so a window is an index range; node_events
        // (drift corrections only) moves into it.
        """
        CREATE TABLE events (
            id        {id},
            at_ms     {int} NOT NULL,
            kind      TEXT NOT NULL,
            actor     TEXT NOT NULL,
            node      TEXT NOT NULL DEFAULT '',
            revision  {int} NOT NULL DEFAULT 0,
            summary   TEXT NOT NULL,
            details   TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX events_at ON events(at_ms);
        CREATE INDEX events_node ON events(node, id);
        INSERT INTO events (at_ms, kind, actor, node, revision, summary)
            SELECT {unix_ms:at}, 'node.drift-corrected', 'node:' || node, node,
                   CAST(substr(detail, 10) AS {int}), 'drift corrected at ' || detail
            FROM node_events ORDER BY id;
        DROP TABLE node_events;
        """,
        // 6: several controllers on one store. A counter per topic of change (the polling fallback to the
        // wake-ups), leases for the jobs one controller runs at a time (times on the database's clock), web
        // sessions (by the hash of their id), the enrollment CA (its key sealed), which controller holds
        // each agent's stream, and messages for agents connected to another controller.
        """
        CREATE TABLE store_changes (
            topic   TEXT PRIMARY KEY,
            serial  {int} NOT NULL
        );
        CREATE TABLE leases (
            name        TEXT PRIMARY KEY,
            holder      TEXT NOT NULL,
            term        {int} NOT NULL,
            expires_ms  {int} NOT NULL
        );
        CREATE TABLE web_sessions (
            id_sha256   TEXT PRIMARY KEY,
            csrf        TEXT NOT NULL,
            who         TEXT NOT NULL,
            expires_ms  {int} NOT NULL
        );
        CREATE TABLE controller_ca (
            id          {int} PRIMARY KEY,
            cert_pem    TEXT NOT NULL,
            key_sealed  {blob} NOT NULL
        );
        ALTER TABLE nodes ADD COLUMN connected_to TEXT;
        CREATE TABLE node_messages (
            id          {id},
            node        TEXT NOT NULL,
            origin      TEXT NOT NULL,
            body        {blob} NOT NULL,
            created_ms  {int} NOT NULL,
            state       TEXT NOT NULL,
            reply       {blob}
        );
        CREATE INDEX node_messages_pending ON node_messages(state, node);
        """,
        // 7: the report of each node's converge of the revision it was last sent, kept apart from the latest
        // report so a recap says what the revision did even after a drift check reported since.
        """
        ALTER TABLE nodes ADD COLUMN outcome_report {blob};
        """,
        // 8: domain rows, one time format. Rollouts, stored until now as one serialized hawser.v1.Rollout each, become
        // rows of rollouts and rollout_nodes with their states as words; every time still kept as ISO text becomes Unix
        // milliseconds (UTC) in a column named *_ms, as the event log's have been since step 5.
        new("", StoreUpgradeTo8.Run),
        // 9: each node's latest and outcome report as JSON of the domain's record, no longer a serialized wire message.
        new("", StoreUpgradeTo9.Run),
        // 10: each node's host facts as JSON of the domain's record, no longer a serialized wire message.
        new("", StoreUpgradeTo10.Run),
        // 11: operators, named people and machines with a role and a scope, their certificates and one-use enrollment
        // tokens; the admin credentials made before (one per controller's init) belong to the operator "admin".
        new("""
        CREATE TABLE operators (
            name              TEXT PRIMARY KEY,
            role              TEXT NOT NULL,
            selector_json     TEXT NOT NULL DEFAULT '{}',
            created_ms        {int} NOT NULL,
            revoked_ms        {int},
            legacy_before_ms  {int}
        );
        CREATE TABLE operator_certificates (
            serial        TEXT PRIMARY KEY,
            operator      TEXT NOT NULL,
            issued_ms     {int} NOT NULL,
            not_after_ms  {int} NOT NULL,
            revoked_ms    {int}
        );
        CREATE INDEX operator_certificates_operator ON operator_certificates(operator);
        CREATE TABLE operator_tokens (
            id           TEXT PRIMARY KEY,
            operator     TEXT NOT NULL,
            secret_hash  {blob} NOT NULL,
            created_ms   {int} NOT NULL,
            expires_ms   {int} NOT NULL,
            used_ms      {int},
            revoked      {int} NOT NULL DEFAULT 0
        );
        """, StoreUpgradeTo11.Run),
        // 12: the web UI on ASP.NET Core's cookie authentication: its tickets (by the hash of their key) replace the hand-made
        // sessions, and the keys that protect cookies and antiforgery tokens are shared by every controller (sealed with
        // pki/secrets.key). A web session of an earlier version ends: its user signs in again.
        """
        CREATE TABLE web_tickets (
            key_sha256  TEXT PRIMARY KEY,
            who         TEXT NOT NULL,
            ticket      {blob} NOT NULL,
            expires_ms  {int} NOT NULL
        );
        CREATE TABLE data_protection_keys (
            name    TEXT PRIMARY KEY,
            sealed  {blob} NOT NULL
        );
        DROP TABLE web_sessions;
        """,
        // 13: orders survive restarts without storms: a certificate's back-off (when the next attempt may be made, and how
        // long the last wait was) is kept with it, and every order placed at a CA is recorded by its set of names, so the
        // breaker counts them whichever controller placed them. A certificate records the CA (directory URL) that issued it.
        """
        ALTER TABLE issued_certificates ADD COLUMN next_attempt_ms {int};
        ALTER TABLE issued_certificates ADD COLUMN backoff_ms {int};
        ALTER TABLE issued_certificates ADD COLUMN issuer TEXT;
        CREATE TABLE certificate_orders (
            id           {id},
            names        TEXT NOT NULL,
            certificate  TEXT NOT NULL,
            at_ms        {int} NOT NULL
        );
        CREATE INDEX certificate_orders_names ON certificate_orders (names, at_ms);
        """,
        // 14: notifications: a row per event and receiver, written in the event's transaction, sent by one controller,
        // retried until delivered or given up on (kept a week after either).
        """
        CREATE TABLE notification_outbox (
            id         {id},
            key        TEXT NOT NULL,
            receiver   TEXT NOT NULL,
            group_key  TEXT NOT NULL,
            at_ms      {int} NOT NULL,
            kind       TEXT NOT NULL,
            actor      TEXT NOT NULL,
            node       TEXT NOT NULL,
            revision   {int} NOT NULL,
            severity   TEXT NOT NULL,
            summary    TEXT NOT NULL,
            details    TEXT NOT NULL,
            state      TEXT NOT NULL,
            attempts   {int} NOT NULL,
            next_ms    {int} NOT NULL,
            last_error TEXT,
            done_ms    {int}
        );
        CREATE INDEX notification_outbox_due ON notification_outbox (state, next_ms);
        CREATE INDEX notification_outbox_group ON notification_outbox (group_key, state);
        """,
        // 15: agent releases: each architecture's binary with its signed manifest, in chunks (every controller sharing the
        // store serves it to its agents).
        """
        CREATE TABLE agent_releases (
            version       TEXT NOT NULL,
            arch          TEXT NOT NULL,
            size          {int} NOT NULL,
            sha256        TEXT NOT NULL,
            manifest      {blob} NOT NULL,
            signature     {blob} NOT NULL,
            key           TEXT NOT NULL,
            published_ms  {int} NOT NULL,
            published_by  TEXT NOT NULL,
            PRIMARY KEY (version, arch)
        );
        CREATE TABLE agent_release_chunks (
            version  TEXT NOT NULL,
            arch     TEXT NOT NULL,
            seq      {int} NOT NULL,
            data     {blob} NOT NULL,
            PRIMARY KEY (version, arch, seq)
        );
        """,
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int LatestVersion => Steps.Count;
}
