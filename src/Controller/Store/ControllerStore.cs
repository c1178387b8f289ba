using System.Data.Common;
using System.Globalization;
using Hawser.Controller.Store.Engines;
using Hawser.Controller.Store.Repositories;

namespace Hawser.Controller.Store;

/// <summary>The store could not be opened or used; the message says what to do.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The controller's store: the embedded SQLite file in its data directory (one controller), or a
/// PostgreSQL database several controllers share: its schema and migrations, connections, the change marks and fences
/// every write shares, and one repository per aggregate. Every query is written once for both engines;
/// <see cref="StoreEngine"/> holds what differs.
/// </summary>
public sealed partial class ControllerStore : IDisposable
{
    /// <summary>The SQLite database file's name inside the data directory.</summary>
    public const string DatabaseFileName = SqliteEngine.DatabaseFileName;

    private readonly StoreEngine _engine;

    private ControllerStore(StoreEngine engine, int schemaVersion)
    {
        _engine = engine;
        SchemaVersion = schemaVersion;
        Nodes = new NodeRepository(this);
        Revisions = new RevisionRepository(this);
        Events = new EventRepository(this);
        Outbox = new OutboxRepository(this);
        AgentReleases = new AgentReleaseRepository(this);
        Rollouts = new RolloutRepository(this);
        Certificates = new CertificateRepository(this);
        Enrollment = new EnrollmentRepository(this);
        Leases = new LeaseRepository(this);
        WebSessions = new WebSessionRepository(this);
        NodeMessages = new NodeMessageRepository(this);
        Operators = new OperatorRepository(this);
    }

    /// <summary>Nodes and what they report.</summary>
    public NodeRepository Nodes { get; }

    /// <summary>Spec revisions.</summary>
    public RevisionRepository Revisions { get; }

    /// <summary>The event log.</summary>
    public EventRepository Events { get; }

    /// <summary>Notifications waiting to be sent, written with the events they are about.</summary>
    public OutboxRepository Outbox { get; }

    /// <summary>Published agent releases and their binaries.</summary>
    public AgentReleaseRepository AgentReleases { get; }

    /// <summary>Rollouts and the pins they set.</summary>
    public RolloutRepository Rollouts { get; }

    /// <summary>Certificates obtained with ACME, and the ACME accounts.</summary>
    public CertificateRepository Certificates { get; }

    /// <summary>Join tokens and nodes' enrollment certificates.</summary>
    public EnrollmentRepository Enrollment { get; }

    /// <summary>Leases of the jobs one controller runs at a time.</summary>
    public LeaseRepository Leases { get; }

    /// <summary>Web UI sessions.</summary>
    public WebSessionRepository WebSessions { get; }

    /// <summary>Stream holders and messages relayed between controllers.</summary>
    public NodeMessageRepository NodeMessages { get; }

    /// <summary>Operators, their certificates and enrollment tokens.</summary>
    public OperatorRepository Operators { get; }

    /// <summary>The engine: SQLite or PostgreSQL.</summary>
    public StoreEngine Engine => _engine;

    /// <summary>The SQLite data directory, or null for a shared store.</summary>
    public string? DataDirectory => (_engine as SqliteEngine)?.DataDirectory;

    /// <summary>Where the store is, for messages (a path, or a URL without its password).</summary>
    public string DatabasePath => _engine.Description;

    /// <summary>The schema version after migrations.</summary>
    public int SchemaVersion { get; }

    /// <summary>
    /// Opens (creating when missing) the SQLite store in <paramref name="dataDirectory"/> and brings its
    /// schema up to date. Refuses a directory another controller holds and a schema newer than this build.
    /// </summary>
    public static ControllerStore Open(string dataDirectory) => Open(dataDirectory, initialized: false);

    /// <summary>
    /// As <see cref="Open(string)"/>; when <paramref name="initialized"/> (pki/ holds the CA), a missing
    /// or empty store is refused instead of being created anew: every node would then look revoked.
    /// </summary>
    public static ControllerStore Open(string dataDirectory, bool initialized) => Open(SqliteEngine.Open(dataDirectory, initialized), initialized);

    /// <summary>
    /// Opens the store <paramref name="engine"/> reaches and brings its schema up to date; the store owns the
    /// engine from here (also when opening fails). When <paramref name="initialized"/>, an empty store is refused.
    /// </summary>
    public static ControllerStore Open(StoreEngine engine, bool initialized)
    {
        try
        {
            var version = Migrate(engine, initialized);
            return new ControllerStore(engine, version);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Closes the engine's connections (and releases the data directory's lock).</summary>
    public void Dispose()
    {
        Nodes.Dispose();
        _engine.Dispose();
    }

    /// <summary>An open connection of the store's engine (the copy between stores reads and writes through it).</summary>
    internal DbConnection OpenConnection()
    {
        try
        {
            return _engine.OpenConnection();
        }
        catch (Exception ex) when (_engine.Explain(ex) is { } explained && explained != ex)
        {
            throw explained;
        }
    }

    /// <summary>As <see cref="OpenConnection"/>, for the calls every agent makes (hello, reports), which must not hold threads waiting on the database.</summary>
    internal async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _engine.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (_engine.Explain(ex) is { } explained && explained != ex)
        {
            throw explained;
        }
    }

    private static int Migrate(StoreEngine engine, bool initialized)
    {
        try
        {
            using var connection = engine.OpenConnection();
            engine.PrepareConnection(connection);
            int version;
            // Every step in one transaction: a failure part-way leaves the store at the version it had.
            using (var transaction = connection.BeginTransaction())
            {
                engine.LockSchema(connection, transaction);
                version = engine.ReadVersion(connection, transaction);
                if (version > StoreMigrations.LatestVersion)
                {
                    throw new StoreException(
                        $"the store {engine.Description} has schema version {version}, but this hawser-controller knows only up to " +
                        $"{StoreMigrations.LatestVersion}; run the newer controller that wrote it");
                }
                if (version == 0 && initialized && engine.IsShared)
                {
                    throw new StoreException(
                        $"the store {engine.Description} is empty, but this controller's data directory holds its CA: " +
                        "point --store at the database this controller was set up with, or move the SQLite store into it with `hawser-controller migrate`; nothing was changed");
                }
                if (version < StoreMigrations.LatestVersion && version >= LeasesVersion && engine.IsShared)
                {
                    RefuseWhileOlderControllersRun(connection, transaction, engine, version);
                }
                for (var step = version; step < StoreMigrations.LatestVersion; step++)
                {
                    var migration = StoreMigrations.Steps[step];
                    if (migration.Sql.Length > 0)
                    {
                        engine.Execute(connection, transaction, migration.Sql);
                    }
                    migration.Code?.Invoke(connection, transaction, engine);
                    using var written = connection.Command(transaction, engine.WriteVersionSql(step + 1));
                    written.ExecuteNonQuery();
                }
                transaction.Commit();
            }
            using (var write = connection.Command(null, engine.WriteVersionSql(StoreMigrations.LatestVersion)))
            {
                // A store that opens but cannot be written (read-only file or file system, a read-only role)
                // is refused now, not discovered by the first apply.
                write.ExecuteNonQuery();
            }
            return StoreMigrations.LatestVersion;
        }
        catch (Exception ex) when (engine.Explain(ex) is { } explained && explained != ex)
        {
            throw explained;
        }
    }

    /// <summary>
    /// Runs SQLite's <c>integrity_check</c> over the store without taking the controller's lock (a
    /// running controller keeps serving); returns the problems found, empty when the store is sound.
    /// </summary>
    public static IReadOnlyList<string> CheckIntegrity(string dataDirectory) => SqliteEngine.CheckIntegrity(dataDirectory);

    /// <summary>
    /// Checks a shared store without changing it: it answers, holds a schema this build reads, and every
    /// table can be read to its end; returns the problems found.
    /// </summary>
    public static IReadOnlyList<string> CheckShared(StoreLocation location)
    {
        using var engine = location.OpenEngine(initialized: false);
        try
        {
            using var connection = engine.OpenConnection();
            using var exists = connection.Command(null, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'hawser_schema'");
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                return ["the database holds no hawser store (run `hawser-controller init --store` or `migrate` first)"];
            }
            var version = engine.ReadVersion(connection, null);
            if (version != StoreMigrations.LatestVersion)
            {
                return [$"schema version {version}, this build writes {StoreMigrations.LatestVersion}" +
                    (version < StoreMigrations.LatestVersion ? " (a controller of this build migrates it when it starts)" : " (run the newer controller)")];
            }
            foreach (var table in StoreTables.All)
            {
                using var count = connection.Command(null, $"SELECT COUNT(*) FROM {table.Name}");
                count.ExecuteScalar();
            }
            return [];
        }
        catch (Exception ex) when (engine.Explain(ex) is { } explained)
        {
            throw explained;
        }
    }

    /// <summary>The schema version that added leases (each live controller holds <c>controller:ID</c>).</summary>
    private const int LeasesVersion = 6;

    /// <summary>
    /// An older controller still serving a shared store would write the old schema into the new one: the upgrade waits
    /// until every controller whose lease is live has stopped (a crashed one's lease lapses after its TTL).
    /// </summary>
    private static void RefuseWhileOlderControllersRun(DbConnection connection, DbTransaction transaction, StoreEngine engine, int version)
    {
        using var live = connection.Command(transaction, engine.Render(
            $"SELECT holder FROM leases WHERE name LIKE '{ControllerLeasePrefix}%' AND expires_ms >= {{now_ms}} ORDER BY holder"));
        var holders = new List<string>();
        using (var reader = live.ExecuteReader())
        {
            while (reader.Read())
            {
                holders.Add(new StoreRow(reader).Text("holder"));
            }
        }
        if (holders.Count > 0)
        {
            throw new StoreException(
                $"the store {engine.Description} has schema version {version} and this hawser-controller would upgrade it to {StoreMigrations.LatestVersion}, " +
                $"but {holders.Count} older controller(s) still run on it ({string.Join(", ", holders)}); stop every one of them, then start this " +
                "controller (a stopped or crashed one's lease lapses within --lease-ttl): it upgrades the store, and older controllers then refuse it. Nothing was changed");
        }
    }

    /// <summary>The lease each controller sharing the store holds while it lives: <c>controller:ID</c>.</summary>
    public const string ControllerLeasePrefix = "controller:";

    /// <summary>A time as the store keeps it: Unix milliseconds.</summary>
    private static long Time(DateTimeOffset time) => time.ToUnixTimeMilliseconds();
}
