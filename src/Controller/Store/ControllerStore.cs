using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Hawser.Controller.Store;

/// <summary>The store could not be opened or used; the message says what to do.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The controller's embedded SQLite store (WAL) in its data directory. One controller per data
/// directory: the store holds an exclusive lock file for as long as it is open.
/// </summary>
public sealed partial class ControllerStore : IDisposable
{
    /// <summary>The database file's name inside the data directory.</summary>
    public const string DatabaseFileName = "controller.db";
    private const string LockFileName = "controller.lock";

    private readonly string _connectionString;
    private readonly FileStream _lock;

    private ControllerStore(string dataDirectory, string connectionString, FileStream lockFile, int schemaVersion)
    {
        DataDirectory = dataDirectory;
        _connectionString = connectionString;
        _lock = lockFile;
        SchemaVersion = schemaVersion;
    }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The database file.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, DatabaseFileName);

    /// <summary>The schema version after migrations.</summary>
    public int SchemaVersion { get; }

    /// <summary>
    /// Opens (creating when missing) the store in <paramref name="dataDirectory"/> and brings its
    /// schema up to date. Refuses a directory another controller holds and a schema newer than this build.
    /// </summary>
    public static ControllerStore Open(string dataDirectory) => Open(dataDirectory, initialized: false);

    /// <summary>
    /// As <see cref="Open(string)"/>; when <paramref name="initialized"/> (pki/ holds the CA), a missing
    /// or empty store is refused instead of being created anew: every node would then look revoked.
    /// </summary>
    public static ControllerStore Open(string dataDirectory, bool initialized)
    {
        var directory = Path.GetFullPath(dataDirectory);
        try
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot create the data directory {directory}: {ex.Message}", ex);
        }
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex.HResult == 11 /* EAGAIN: the lock is held */)
        {
            throw new StoreException($"another hawser-controller is already using {directory} ({ex.Message})", ex);
        }
        catch (IOException ex)
        {
            throw new StoreException($"cannot write in {directory}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new StoreException($"no permission to use {directory}: {ex.Message}", ex);
        }
        try
        {
            var database = Path.Combine(directory, DatabaseFileName);
            if (initialized && (!File.Exists(database) || new FileInfo(database).Length == 0))
            {
                throw new StoreException(
                    $"{database} is {(File.Exists(database) ? "empty" : "missing")}, but {directory}/pki holds this controller's CA: the store was lost. " +
                    $"Stop, restore {DatabaseFileName} from a backup (with its -wal file if any), then start again; nothing was changed");
            }
            CreatePrivateFile(database);
            var connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(directory, DatabaseFileName),
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
            var version = Migrate(connectionString, directory);
            return new ControllerStore(directory, connectionString, lockFile, version);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>Every node, by name.</summary>
    public IReadOnlyList<NodeRecord> ListNodes()
    {
        using var connection = OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = SelectNodes + " ORDER BY name";
        return ReadNodes(command);
    }

    /// <summary>One node, or null when there is none by that name.</summary>
    public NodeRecord? GetNode(string name)
    {
        using var connection = OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = SelectNodes + " WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        return ReadNodes(command).SingleOrDefault();
    }

    /// <summary>Inserts or replaces a node.</summary>
    public void UpsertNode(NodeRecord node)
    {
        using var connection = OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO nodes (name, labels_json, agent_version, facts, first_seen, last_seen, desired_revision, applied_revision, last_report)
            VALUES ($name, $labels, $agent, $facts, $first, $last, $desired, $applied, $report)
            ON CONFLICT(name) DO UPDATE SET labels_json = $labels, agent_version = $agent, facts = $facts, last_seen = $last,
                desired_revision = $desired, applied_revision = $applied, last_report = $report
            """;
        command.Parameters.AddWithValue("$name", node.Name);
        command.Parameters.AddWithValue("$labels", JsonSerializer.Serialize(new Dictionary<string, string>(node.Labels), StoreJsonContext.Default.DictionaryStringString));
        command.Parameters.AddWithValue("$agent", node.AgentVersion);
        command.Parameters.AddWithValue("$facts", (object?)node.Facts ?? DBNull.Value);
        command.Parameters.AddWithValue("$first", node.FirstSeen.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$last", node.LastSeen.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$desired", (long)node.DesiredRevision);
        command.Parameters.AddWithValue("$applied", (long)node.AppliedRevision);
        command.Parameters.AddWithValue("$report", (object?)node.LastReport ?? DBNull.Value);
        command.ExecuteNonQuery();
    }

    /// <summary>The newest revisions first, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<RevisionRecord> ListRevisions(int limit) => ReadRevisions("ORDER BY number DESC LIMIT $limit", ("$limit", limit));

    private List<RevisionRecord> ReadRevisions(string clause, (string Name, object Value) parameter)
    {
        using var connection = OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT number, author, message, created_at, spec_text, spec_sha256 FROM revisions " + clause;
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        using var reader = command.ExecuteReader();
        var revisions = new List<RevisionRecord>();
        while (reader.Read())
        {
            revisions.Add(new RevisionRecord
            {
                Number = (ulong)reader.GetInt64(0),
                Author = reader.GetString(1),
                Message = reader.GetString(2),
                CreatedAt = DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture),
                SpecText = reader.GetString(4),
                SpecSha256 = reader.GetString(5),
            });
        }
        return revisions;
    }

    /// <summary>Releases the lock; pooled connections are closed.</summary>
    public void Dispose()
    {
        DisposeReportStatements();
        SqliteConnection.ClearAllPools();
        _lock.Dispose();
    }

    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Creates an empty database file readable by the owner only; SQLite gives -wal and -shm the same mode.</summary>
    private static void CreatePrivateFile(string path)
    {
        if (File.Exists(path))
        {
            return;
        }
        try
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created meanwhile; that is fine.
        }
    }

    private static int Migrate(string connectionString, string directory)
    {
        using var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using (var wal = connection.CreateCommand())
            {
                // WAL lets readers (hawserctl queries) proceed while an agent report is written.
                wal.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
                wal.ExecuteNonQuery();
            }
            CheckIntegrity(connection, Path.Combine(directory, DatabaseFileName), "quick_check");
            var version = ReadVersion(connection);
            if (version > StoreMigrations.LatestVersion)
            {
                throw new StoreException(
                    $"the store in {directory} has schema version {version}, but this hawser-controller knows only up to " +
                    $"{StoreMigrations.LatestVersion}; run the newer controller that wrote it");
            }
            for (var step = version; step < StoreMigrations.LatestVersion; step++)
            {
                using var transaction = connection.BeginTransaction();
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = StoreMigrations.Steps[step] + $"\nPRAGMA user_version = {step + 1};";
                command.ExecuteNonQuery();
                transaction.Commit();
            }
            using (var write = connection.CreateCommand())
            {
                // A store that opens but cannot be written (read-only file or file system) is refused now,
                // not discovered by the first apply.
                write.CommandText = $"PRAGMA user_version = {StoreMigrations.LatestVersion}";
                write.ExecuteNonQuery();
            }
            return StoreMigrations.LatestVersion;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 /* SQLITE_CORRUPT */ or 26 /* SQLITE_NOTADB */)
        {
            throw new StoreException($"the store {Path.Combine(directory, DatabaseFileName)} is corrupt ({ex.Message}); " +
                "restore it from a backup, or run `hawser-controller check` for the full report; nothing was changed", ex);
        }
        catch (SqliteException ex)
        {
            throw new StoreException($"cannot open the store {Path.Combine(directory, DatabaseFileName)}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Runs SQLite's <c>integrity_check</c> over the store without taking the controller's lock (a
    /// running controller keeps serving); returns the problems found, empty when the store is sound.
    /// </summary>
    public static IReadOnlyList<string> CheckIntegrity(string dataDirectory)
    {
        var database = Path.Combine(Path.GetFullPath(dataDirectory), DatabaseFileName);
        if (!File.Exists(database))
        {
            throw new StoreException($"there is no store at {database}");
        }
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly }.ToString());
            connection.Open();
            return IntegrityProblems(connection, "integrity_check");
        }
        catch (SqliteException ex)
        {
            return [ex.Message];
        }
    }

    private static void CheckIntegrity(SqliteConnection connection, string database, string pragma)
    {
        if (IntegrityProblems(connection, pragma) is { Count: > 0 } problems)
        {
            throw new StoreException($"the store {database} is corrupt ({pragma}: {string.Join("; ", problems.Take(5))}); " +
                "restore it from a backup, or run `hawser-controller check` for the full report; nothing was changed");
        }
    }

    private static List<string> IntegrityProblems(SqliteConnection connection, string pragma)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {pragma}";
        using var reader = command.ExecuteReader();
        var problems = new List<string>();
        while (reader.Read())
        {
            if (reader.GetString(0) is var line && line != "ok")
            {
                problems.Add(line);
            }
        }
        return problems;
    }

    private static int ReadVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>The node columns in the order <see cref="ReadNodes"/> reads them.</summary>
    private const string SelectNodes =
        "SELECT name, labels_json, agent_version, facts, first_seen, last_seen, desired_revision, applied_revision, last_report, drift_corrected, last_report_at, pinned_revision FROM nodes";

    private static List<NodeRecord> ReadNodes(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var nodes = new List<NodeRecord>();
        while (reader.Read())
        {
            nodes.Add(new NodeRecord
            {
                Name = reader.GetString(0),
                Labels = JsonSerializer.Deserialize(reader.GetString(1), StoreJsonContext.Default.DictionaryStringString) ?? [],
                AgentVersion = reader.GetString(2),
                Facts = reader.IsDBNull(3) ? null : (byte[])reader[3],
                FirstSeen = DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture),
                LastSeen = DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture),
                DesiredRevision = (ulong)reader.GetInt64(6),
                AppliedRevision = (ulong)reader.GetInt64(7),
                LastReport = reader.IsDBNull(8) ? null : (byte[])reader[8],
                DriftCorrected = reader.GetInt32(9),
                LastReportAt = reader.IsDBNull(10) ? null : DateTimeOffset.Parse(reader.GetString(10), CultureInfo.InvariantCulture),
                PinnedRevision = reader.IsDBNull(11) ? null : (ulong)reader.GetInt64(11),
            });
        }
        return nodes;
    }
}
