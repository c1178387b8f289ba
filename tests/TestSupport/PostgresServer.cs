using System.Diagnostics;
using System.Text;
using Npgsql;

namespace Hawser.TestSupport;

/// <summary>
/// Debian's PostgreSQL server in a cluster of its own (initdb in a temporary directory, run as the
/// <c>postgres</c> user since the server refuses root), answering only on a unix socket in that directory,
/// so tests and the demo never meet on a port. Trust authentication for the superuser <c>hawser</c>.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const int Port = 5432;
    private readonly TempDirectory _directory = new("hawser-pg-");
    private readonly StringBuilder _log = new();
    private Process? _process;

    private PostgresServer()
    {
    }

    /// <summary>The directory holding the server's socket.</summary>
    public string SocketDirectory => _directory.Path;

    /// <summary>What the server printed.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The server's process id, while it runs.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>The directory of Debian's newest PostgreSQL programs (/usr/lib/postgresql/N/bin).</summary>
    public static string BinDirectory =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Join(d, "bin")).FirstOrDefault(d => File.Exists(Path.Join(d, "postgres")))
              ?? throw new AssertFailedException("PostgreSQL is not installed (apt-get install postgresql)")
            : throw new AssertFailedException("PostgreSQL is not installed (apt-get install postgresql)");

    /// <summary>Creates the cluster and starts the server.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var server = new PostgresServer();
        try
        {
            var chown = await ExternalProcess.RunAsync("chown", ["postgres:postgres", server._directory.Path]);
            Assert.AreEqual(0, chown.ExitCode, chown.Output);
            var init = await ExternalProcess.RunAsync("setpriv", AsPostgres(Path.Join(BinDirectory, "initdb"),
                "-D", server.DataPath, "-A", "trust", "-U", "hawser", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"), TimeSpan.FromMinutes(2));
            Assert.AreEqual(0, init.ExitCode, init.Output);
            await server.StartServerAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private string DataPath => Path.Join(_directory.Path, "data");

    /// <summary>The connection string of database <paramref name="database"/> (see <see cref="CreateDatabaseAsync"/>).</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = SocketDirectory, Port = Port, Username = "hawser", Database = database, Pooling = false }.ConnectionString;

    /// <summary>The store URL of database <paramref name="database"/> as an operator writes it for --store.</summary>
    public string Url(string database, string user = "hawser") => $"postgres://{user}@/{database}?host={Uri.EscapeDataString(SocketDirectory)}&port={Port}";

    /// <summary>Creates an empty database; returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    /// <summary>Runs one statement in <paramref name="database"/> and returns the first column of the first row.</summary>
    public async Task<object?> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Stops the server (fast shutdown: open sessions are ended) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        Signals.Interrupt(process.Id);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        process.Dispose();
        _process = null;
    }

    /// <summary>Starts the server again on the same cluster.</summary>
    public Task RestartAsync() => StartServerAsync();

    private async Task StartServerAsync()
    {
        var process = ExternalProcess.Start("setpriv", AsPostgres(Path.Join(BinDirectory, "postgres"),
            "-D", DataPath, "-k", SocketDirectory, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=500", "-c", "shared_buffers=32MB",
            // A statement that waits a second for a lock, or runs that long, is logged: what a test failure shows.
            "-c", "log_lock_waits=on", "-c", "log_min_duration_statement=1000"));
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var ready = await Poll.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                return true;
            }
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
                await connection.OpenAsync();
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(1));
        Assert.IsTrue(ready && !process.HasExited, $"PostgreSQL did not start:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static string[] AsPostgres(string program, params string[] arguments) =>
        ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program, .. arguments];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            if (_process is { HasExited: false } process)
            {
                Signals.Kill(process.Id);
            }
        }
        NpgsqlConnection.ClearAllPools();
        _directory.Dispose();
    }
}
