using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Hawser.TestSupport;

/// <summary>
/// Several real controllers sharing one real PostgreSQL (Debian's, a cluster of its own), each with its own data
/// directory and fixed loopback port, the later ones joined to the first's CA with its secrets key.
/// </summary>
public sealed class ControllerCluster : IAsyncDisposable
{
    private readonly List<TempDirectory> _data = [];
    private readonly string[] _extra;

    private ControllerCluster(PostgresServer postgres, string database, string[] extra)
    {
        Postgres = postgres;
        Database = database;
        _extra = extra;
    }

    /// <summary>The database server.</summary>
    public PostgresServer Postgres { get; }

    /// <summary>The database the controllers share.</summary>
    public string Database { get; }

    /// <summary>Controller <paramref name="index"/>'s --store URL: each logs in as its own role (<c>ctlN</c>), so a test can cut one off.</summary>
    public string StoreFor(int index) => Postgres.Url(Database, Role(index));

    /// <summary>The database role controller <paramref name="index"/> logs in as.</summary>
    public static string Role(int index) => $"ctl{index}";

    /// <summary>The controllers, in start order (an entry is replaced by a restart; null while one is stopped).</summary>
    public List<ControllerProcess?> Controllers { get; } = [];

    /// <summary>Each controller's fixed address.</summary>
    public List<string> Listens { get; } = [];

    /// <summary>Controller <paramref name="index"/>, which must be running.</summary>
    public ControllerProcess this[int index] => Controllers[index] ?? throw new InvalidOperationException($"controller {index} is stopped");

    /// <summary>Starts PostgreSQL and <paramref name="count"/> controllers on it, each run with <paramref name="extra"/>.</summary>
    public static async Task<ControllerCluster> StartAsync(int count, params string[] extra)
    {
        var postgres = await PostgresServer.StartAsync();
        var cluster = new ControllerCluster(postgres, await postgres.CreateDatabaseAsync("hawser"), extra);
        try
        {
            for (var i = 0; i < count; i++)
            {
                await postgres.ScalarAsync("postgres", $"CREATE ROLE {Role(i)} LOGIN SUPERUSER");
                cluster._data.Add(new TempDirectory());
                cluster.Listens.Add($"127.0.0.1:{FreePorts.Tcp()}");
                cluster.Controllers.Add(null);
                await cluster.StartAsync(i);
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts controller <paramref name="index"/> (again) on its address and data.</summary>
    public async Task StartAsync(int index)
    {
        var secrets = index == 0 ? null : Path.Join(_data[0].Path, "pki", "secrets.key");
        Controllers[index] = await ControllerProcess.StartSharedAsync(_data[index].Path, Listens[index], StoreFor(index), secrets, _extra);
    }

    /// <summary>Kills controller <paramref name="index"/> with SIGKILL (no goodbye to anyone) and waits for it to be gone.</summary>
    public async Task KillAsync(int index)
    {
        Signals.Kill(this[index].Pid);
        await this[index].DisposeAsync();
        Controllers[index] = null;
    }

    /// <summary>Stops controller <paramref name="index"/> with SIGTERM (it drains its agents).</summary>
    public async Task StopAsync(int index)
    {
        await this[index].DisposeAsync();
        Controllers[index] = null;
    }

    /// <summary>Cuts controller <paramref name="index"/> off the database (its role may not log in; its sessions are ended with pg_terminate_backend), or lets it back.</summary>
    public async Task CutOffAsync(int index, bool cut)
    {
        await Postgres.ScalarAsync(Database, $"ALTER ROLE {Role(index)} {(cut ? "NOLOGIN" : "LOGIN")}");
        if (cut)
        {
            await Postgres.ScalarAsync(Database, $"SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{Role(index)}'");
        }
    }

    /// <summary>Runs hawserctl against controller <paramref name="index"/>.</summary>
    public Task<ProcessResult> CtlAsync(int index, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", this[index].CtlConfig, .. arguments]);

    /// <summary>A join token for <paramref name="uses"/> enrollments, made through controller <paramref name="index"/>.</summary>
    public async Task<string> TokenAsync(int index, int uses)
    {
        var token = await CtlAsync(index, "token", "create", "--uses", uses.ToString(CultureInfo.InvariantCulture), "-o", "json");
        Assert.AreEqual(0, token.ExitCode, token.Output);
        return JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>The index of the controller holding lease <paramref name="name"/> now (its id names its process), or -1.</summary>
    public async Task<int> HolderOfAsync(string name)
    {
        var holder = await Postgres.ScalarAsync(Database, $"SELECT holder FROM leases WHERE name = '{name}' AND expires_ms > EXTRACT(EPOCH FROM clock_timestamp()) * 1000") as string;
        var pid = holder?.Split('/')[1];
        return Controllers.FindIndex(c => c is not null && c.Pid.ToString(CultureInfo.InvariantCulture) == pid);
    }

    /// <summary>Every controller's log, for assertion messages.</summary>
    public string Diagnostics() => string.Join("\n", Controllers.Select((c, i) => $"controller {i}:\n{(c is null ? "(stopped)" : string.Join("\n", c.Log))}"));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var controller in Controllers.OfType<ControllerProcess>())
        {
            await controller.DisposeAsync();
        }
        await Postgres.DisposeAsync();
        foreach (var data in _data)
        {
            data.Dispose();
        }
    }
}
