using Hawser.Controller.Rollouts;
using Google.Protobuf;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Hawser.Controller.Tests;

/// <summary><c>hawser-controller migrate</c> from a controller's SQLite store into a real PostgreSQL, and a controller serving from it.</summary>
[TestClass]
public sealed class StoreMigrateTests
{
    [TestMethod]
    public async Task Migrate_keeps_every_row_of_every_table_and_a_controller_serves_them_from_postgres()
    {
        await using var postgres = await PostgresServer.StartAsync();
        var database = await postgres.CreateDatabaseAsync("hawser");
        using var data = new TempDirectory();
        var init = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data.Path, "--address", "127.0.0.1"]);
        Assert.AreEqual(0, init.ExitCode, init.Output);
        using (var store = ControllerStore.Open(data.Path))
        {
            var box = Hawser.Controller.Pki.SecretBox.Open(data.Path);
            await FillEveryTableAsync(store, box);
            await store.PublishCaAsync(File.ReadAllText(Path.Join(data.Path, "pki", "ca.crt")), box.Seal(File.ReadAllBytes(Path.Join(data.Path, "pki", "ca.key"))));
        }

        var migrate = await HawserProcesses.RunAsync("hawser-controller", ["migrate", "--from", $"sqlite:{data.Path}", "--to", postgres.Url(database)]);
        Assert.AreEqual(0, migrate.ExitCode, migrate.Output);
        StringAssert.Contains(migrate.StandardOutput, "identical in both stores");
        var check = await HawserProcesses.RunAsync("hawser-controller", ["check", "--store", postgres.Url(database)]);
        Assert.AreEqual(0, check.ExitCode, check.Output);
        Assert.AreEqual($"postgres://hawser@/{database}?host={postgres.SocketDirectory}: ok", check.StandardOutput.Trim());

        // Table by table, read independently of the store's own code: the same tables, the same rows.
        var sqliteTables = await SqliteTablesAsync(data.Path);
        CollectionAssert.AreEquivalent(sqliteTables.Keys.ToArray(), StoreTables.All.Select(t => t.Name).ToArray(), "the copy knows every table");
        await using var pg = new NpgsqlConnection(postgres.ConnectionString(database));
        await pg.OpenAsync();
        foreach (var (table, rows) in sqliteTables)
        {
            var copied = await ReadTableAsync(pg, table);
            Assert.IsTrue(rows.Count > 0, $"the fixture fills {table}");
            Assert.AreEqual(rows.Count, copied.Count, table);
            for (var i = 0; i < rows.Count; i++)
            {
                CollectionAssert.AreEqual(rows[i], copied[i], $"{table} row {i + 1}");
            }
        }

        var again = await HawserProcesses.RunAsync("hawser-controller", ["migrate", "--from", $"sqlite:{data.Path}", "--to", postgres.Url(database)]);
        Assert.AreEqual(3, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardError, "is not empty");

        // The controller now serves from PostgreSQL with the same data directory (its pki/), and a new event
        // gets an id after the copied ones.
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--store", postgres.Url(database)]);
        var nodes = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "nodes", "-o", "json"]);
        Assert.AreEqual(0, nodes.ExitCode, nodes.Output);
        StringAssert.Contains(nodes.StandardOutput, "\"web1\"");
        var revisions = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "revisions"]);
        StringAssert.Contains(revisions.StandardOutput, "first spec");
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create"]);
        Assert.AreEqual(0, token.ExitCode, token.Output);
        var maxCopied = sqliteTables["events"].Max(row => (long)row[0]!);
        Assert.IsTrue((long)(await postgres.ScalarAsync(database, "SELECT MAX(id) FROM events"))! > maxCopied);
    }

    /// <summary>At least one row in every table, through the store's own writes; keys sealed with <paramref name="box"/> as the controller seals them.</summary>
    internal static async Task FillEveryTableAsync(ControllerStore store, Hawser.Controller.Pki.SecretBox box)
    {
        var now = DateTimeOffset.UtcNow;
        await store.Revisions.AddAsync("alice", "first spec", "apiVersion: hawser/v1\n");
        await store.Nodes.UpsertAsync(new NodeRecord { Name = "web1", Labels = new Dictionary<string, string> { ["role"] = "web" }, AgentVersion = "1", Facts = new NodeFacts("6.1", "", "", [], "", "", "web1"), FirstSeen = now, LastSeen = now, DesiredRevision = 1, AppliedRevision = 1 });
        await store.Nodes.RecordReportAsync("web1", 1, new NodeReport(1, false, now, [], new Dictionary<string, string>(), false), driftCorrected: true, [new EventRecord { Kind = "node.converged", Actor = "node:web1", Node = "web1", Summary = "converged", Details = ["a: 1 -> 2", "b"] }]);
        await store.Enrollment.AddTokenAsync("tok1", [5, 6, 7], now.AddDays(1), 3, new Dictionary<string, string> { ["role"] = "web" });
        await store.Enrollment.AddCertificateAsync("0a0b", "web1", now.AddDays(30));
        await store.Certificates.SaveAccountAsync(new Uri("https://ca.example/dir"), box.Seal([9, 8, 7]), new Uri("https://ca.example/acct/1"));
        await store.Certificates.SaveAsync(new IssuedCertificateRecord
        {
            Name = "site", Domains = ["a.example"], ChainPem = "-----BEGIN CERTIFICATE-----\n", KeySealed = box.Seal("-----BEGIN PRIVATE KEY-----\n"u8), Serial = "beef", NotBefore = now, NotAfter = now.AddDays(90),
            Issuer = "https://ca.example/dir",
        });
        await store.Certificates.RecordOrderAsync("site", ["a.example"]);
        await store.Certificates.SetBackoffAsync("site", ["a.example"], now.AddMinutes(2), TimeSpan.FromMinutes(1));
        await store.Rollouts.SaveAsync(TestRollouts.New(RolloutState.Done, 1) with { Batches = 1, Nodes = [new RolloutNodeRecord { Node = "web1", Batch = 0, State = RolloutNodeState.Healthy, PreviousRevision = 0, MovedAt = now }] }, new Dictionary<string, ulong?> { ["web1"] = 1 }, [new EventRecord { Kind = "rollout.started", Actor = "alice", Summary = "started" }]);
        Assert.IsNotNull((await store.Leases.TryAcquireAsync("rollout:1", "ctl-a", TimeSpan.FromMinutes(1))));
        await store.WebSessions.SaveAsync("5e55", "operator:admin", [1, 2, 3], now.AddHours(1));
        await store.NodeMessages.EnqueueAsync("ctl-a", new Dictionary<string, byte[]> { ["web1"] = [1, 2] });
        await store.NodeMessages.SetConnectedToAsync("web1", "ctl-a");
        await store.Operators.AddAsync(new OperatorRecord { Name = "sam", Role = OperatorRole.Operator, Selector = new Dictionary<string, string> { ["role"] = "web" }, CreatedAt = now },
            "tok9", [1, 2, 3], now.AddDays(1), "admin");
        Assert.IsTrue(await store.Operators.AddCertificateAsync("0c0d", "sam", now.AddDays(365), replacesOthers: false, null));
        // A published agent release (one chunk: rows are compared in the order of their first column).
        var binary = new byte[1000];
        Assert.IsTrue(await store.AgentReleases.AddAsync(new AgentReleaseRecord("1.4.0", "x64", binary.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(binary)),
            [1, 2], [3, 4], "0123456789abcdef", now, "operator:admin"), new MemoryStream(binary)));
        // A notification queued with its event.
        store.Outbox.Router = new Hawser.Controller.Notifications.NotificationRouter(new Hawser.Controller.Notifications.NotificationSettings
        {
            Receivers = new Dictionary<string, Hawser.Controller.Notifications.ReceiverSettings>
            {
                ["oncall"] = new("oncall", Hawser.Controller.Notifications.ReceiverFormat.Ntfy, new Uri("http://127.0.0.1:9/x"), null),
            },
            Routes = [new Hawser.Controller.Notifications.RouteSettings { Name = "all", To = ["oncall"] }],
        });
        await store.Events.AddAsync(new EventRecord { Kind = "node.failed", Actor = "node:web1", Node = "web1", Summary = "failed" });
        store.Outbox.Router = null;
    }

    private static async Task<Dictionary<string, List<object?[]>>> SqliteTablesAsync(string dataDirectory)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Join(dataDirectory, ControllerStore.DatabaseFileName)};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        var names = new List<string>();
        await using (var command = new SqliteCommand("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }
        }
        var tables = new Dictionary<string, List<object?[]>>();
        foreach (var name in names)
        {
            tables[name] = await ReadTableAsync(connection, name);
        }
        return tables;
    }

    /// <summary>Every row, ordered by the first column, integers as long and bytes as hex so rows compare by value.</summary>
    private static async Task<List<object?[]>> ReadTableAsync(System.Data.Common.DbConnection connection, string table)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table} ORDER BY 1";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i) switch
            {
                byte[] bytes => Convert.ToHexString(bytes),
                int or short or long => (object)Convert.ToInt64(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture),
                var value => value,
            })]);
        }
        return rows;
    }
}
