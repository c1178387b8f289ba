using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Hawser.Controller.Store.Engines;

/// <summary>
/// The embedded store: one SQLite file (WAL) in the controller's data directory, for one controller. The
/// engine holds an exclusive lock file beside it for as long as it is open, so a second controller on the
/// same directory is refused rather than sharing the file.
/// </summary>
public sealed class SqliteEngine : StoreEngine
{
    /// <summary>The database file's name inside the data directory.</summary>
    public const string DatabaseFileName = "controller.db";
    private const string LockFileName = "controller.lock";

    private readonly FileStream _lock;
    private readonly string _connectionString;

    private SqliteEngine(string directory, FileStream lockFile)
    {
        DataDirectory = directory;
        _lock = lockFile;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The database file.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, DatabaseFileName);

    /// <inheritdoc/>
    public override string Name => "sqlite";

    /// <inheritdoc/>
    public override string Description => DatabasePath;

    /// <inheritdoc/>
    public override bool IsShared => false;

    /// <summary>
    /// Takes the data directory (creating it, 0700), refusing one another controller holds; when
    /// <paramref name="initialized"/>, a missing or empty database is refused (the store was lost).
    /// </summary>
    public static SqliteEngine Open(string dataDirectory, bool initialized)
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
        var engine = new SqliteEngine(directory, lockFile);
        try
        {
            var database = engine.DatabasePath;
            if (initialized && (!File.Exists(database) || new FileInfo(database).Length == 0))
            {
                throw new StoreException(
                    $"{database} is {(File.Exists(database) ? "empty" : "missing")}, but {directory}/pki holds this controller's CA: the store was lost. " +
                    $"Stop, restore {DatabaseFileName} from a backup (with its -wal file if any), then start again; nothing was changed");
            }
            CreatePrivateFile(database);
            return engine;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override DbConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Placeholder, string Spelling)> Placeholders { get; } =
    [
        ("{now_ms}", "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"),
        ("{for_update}", ""),
        ("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        ("{int}", "INTEGER"),
        ("{blob}", "BLOB"),
    ];

    /// <inheritdoc/>
    protected override string UnixMs(string column) => $"CAST((julianday({column}) - 2440587.5) * 86400000 AS INTEGER)";

    /// <inheritdoc/>
    public override ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // Deferred: a snapshot from the first read (WAL), without BEGIN IMMEDIATE's write lock.
        new(((SqliteConnection)connection).BeginTransaction(deferred: true));

    /// <inheritdoc/>
    public override string NotifySql => "";

    /// <inheritdoc/>
    public override void PrepareConnection(DbConnection connection)
    {
        using (var wal = connection.Command(null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"))
        {
            // WAL lets readers (hawserctl queries) proceed while an agent report is written.
            wal.ExecuteNonQuery();
        }
        if (IntegrityProblems((SqliteConnection)connection, "quick_check") is { Count: > 0 } problems)
        {
            throw new StoreException($"the store {DatabasePath} is corrupt (quick_check: {string.Join("; ", problems.Take(5))}); " +
                "restore it from a backup, or run `hawser-controller check` for the full report; nothing was changed");
        }
    }

    /// <inheritdoc/>
    public override void LockSchema(DbConnection connection, DbTransaction transaction)
    {
        // BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default) already holds the write lock.
    }

    /// <inheritdoc/>
    public override int ReadVersion(DbConnection connection, DbTransaction? transaction)
    {
        using var command = connection.Command(transaction, "PRAGMA user_version");
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public override string WriteVersionSql(int version) => $"PRAGMA user_version = {version};";

    /// <inheritdoc/>
    public override string LockForNumberingSql(string table) => "";

    /// <inheritdoc/>
    public override StoreException? Explain(Exception exception) => exception switch
    {
        StoreException store => store,
        SqliteException { SqliteErrorCode: 11 /* SQLITE_CORRUPT */ or 26 /* SQLITE_NOTADB */ } ex => new StoreException(
            $"the store {DatabasePath} is corrupt ({ex.Message}); restore it from a backup, or run `hawser-controller check` for the full report; nothing was changed", ex),
        SqliteException ex => new StoreException($"cannot open the store {DatabasePath}: {ex.Message}", ex),
        _ => null,
    };

    /// <summary>Closes pooled connections and releases the directory.</summary>
    public override void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _lock.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Runs SQLite's <c>integrity_check</c> over the store in <paramref name="dataDirectory"/> without taking the
    /// lock (a running controller keeps serving); returns the problems found, empty when the store is sound.
    /// </summary>
    public static IReadOnlyList<string> CheckIntegrity(string dataDirectory)
    {
        var database = Path.Combine(Path.GetFullPath(dataDirectory), DatabaseFileName);
        if (!File.Exists(database))
        {
            throw new StoreException($"there is no store at {database}");
        }
        if (new FileInfo(database).Length == 0)
        {
            // What `run` refuses as a lost store is no sound store here either (SQLite calls an empty file an empty database).
            return [$"the file is empty: the store was lost; restore {DatabaseFileName} from a backup (with its -wal file if any)"];
        }
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly }.ToString());
            connection.Open();
            var problems = IntegrityProblems(connection, "integrity_check");
            using var schema = connection.CreateCommand();
            schema.CommandText = "PRAGMA user_version";
            if (problems.Count == 0 && Convert.ToInt64(schema.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                problems.Add("the database holds no hawser store (its tables are gone): the store was lost; restore it from a backup");
            }
            return problems;
        }
        catch (SqliteException ex)
        {
            return [ex.Message];
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

}
