using System.Data;
using System.Data.Common;

namespace Hawser.Controller.Store.Engines;

/// <summary>
/// What differs between the store's database engines: how to connect, the few type names the schema
/// spells differently, where the schema version is kept, and how a writer numbers rows safely.
/// Everything else (every query, every migration step) is written once in SQL both engines read.
/// </summary>
public abstract partial class StoreEngine : IDisposable
{
    /// <summary>The engine's name as the --store option and the migrate command spell it: <c>sqlite</c> or <c>postgres</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Where the store is, for messages: a file path, or a URL without its password.</summary>
    public abstract string Description { get; }

    /// <summary>True when several controllers may use the store at once (they then share it and coordinate through it).</summary>
    public abstract bool IsShared { get; }

    /// <summary>An open connection from the engine's pool.</summary>
    public abstract DbConnection OpenConnection();

    /// <summary>As <see cref="OpenConnection"/>, without holding a thread while a pooled connection is awaited or opened.</summary>
    public virtual ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => ValueTask.FromResult(OpenConnection());

    /// <summary>A transaction for reads only: one snapshot for several queries, taking no write lock.</summary>
    public virtual async ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    /// <summary>Runs <paramref name="sql"/>, its placeholders rendered, inside <paramref name="transaction"/> (a migration step's statements).</summary>
    public void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.Command(transaction, Render(sql));
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// A migration step or query with the engine's spelling of the placeholders: <c>{int}</c>, <c>{blob}</c>, <c>{id}</c>,
    /// <c>{unix_ms:COLUMN}</c>, <c>{now_ms}</c> (the database's clock, Unix milliseconds) and <c>{for_update}</c> (a row lock where the engine has one).
    /// </summary>
    public string Render(string sql)
    {
        foreach (var (placeholder, spelling) in Placeholders)
        {
            sql = sql.Replace(placeholder, spelling, StringComparison.Ordinal);
        }
        return UnixMsPlaceholder().Replace(sql, match => UnixMs(match.Groups[1].Value));
    }

    /// <summary>The engine's spelling of each fixed placeholder (<c>{int}</c>, <c>{blob}</c>, <c>{id}</c>, <c>{now_ms}</c>, <c>{for_update}</c>).</summary>
    protected abstract IReadOnlyList<(string Placeholder, string Spelling)> Placeholders { get; }

    /// <summary>The expression that turns an ISO time in <paramref name="column"/> into Unix milliseconds.</summary>
    protected abstract string UnixMs(string column);

    [System.Text.RegularExpressions.GeneratedRegex(@"\{unix_ms:([a-z_]+)\}")]
    private static partial System.Text.RegularExpressions.Regex UnixMsPlaceholder();

    /// <summary>The statement that wakes the other controllers with <c>@topic</c> when the transaction commits; empty when none share the store.</summary>
    public abstract string NotifySql { get; }

    /// <summary>The channel change notifications go out on.</summary>
    public const string ChangeChannel = "hawser_changes";

    /// <summary>Prepares the migrating connection before its transaction, checking the store is sound.</summary>
    public abstract void PrepareConnection(DbConnection connection);

    /// <summary>First in the migration's transaction: holds off other controllers' migrations until it ends.</summary>
    public abstract void LockSchema(DbConnection connection, DbTransaction transaction);

    /// <summary>The schema version the store is at; 0 for an empty store.</summary>
    public abstract int ReadVersion(DbConnection connection, DbTransaction? transaction);

    /// <summary>The statement that records <paramref name="version"/> as the schema version.</summary>
    public abstract string WriteVersionSql(int version);

    /// <summary>
    /// A statement run first in a transaction that numbers a new row of <paramref name="table"/> one past the
    /// largest, so two controllers cannot take the same number; empty when the engine already serializes writers.
    /// </summary>
    public abstract string LockForNumberingSql(string table);

    /// <summary>Statements run after rows were copied in with their keys, so the next key the engine makes follows them.</summary>
    public virtual IEnumerable<string> AfterCopySql() => [];

    /// <summary>The store exception that explains <paramref name="exception"/> (an engine error) to an operator, or null when it is not the engine's.</summary>
    public abstract StoreException? Explain(Exception exception);

    /// <summary>Releases the pool (and any lock the engine holds).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>Parameter binding that reads the same on every engine (names start with <c>@</c>).</summary>
public static class StoreCommands
{
    /// <summary>Adds a parameter with a value (null becomes SQL NULL).</summary>
    public static DbParameter Add(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Adds a typed parameter without a value, for a statement prepared once and bound many times.</summary>
    public static DbParameter Add(this DbCommand command, string name, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Sets a parameter's value, adding it the first time.</summary>
    public static void Set(this DbCommand command, string name, object? value)
    {
        if (command.Parameters.Contains(name))
        {
            command.Parameters[name].Value = value ?? DBNull.Value;
        }
        else
        {
            command.Add(name, value);
        }
    }

    /// <summary>A command inside <paramref name="transaction"/> (none when null) with <paramref name="text"/>.</summary>
    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string text)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        return command;
    }
}
