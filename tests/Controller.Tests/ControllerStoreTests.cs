using Hawser.Controller.Store;
using Hawser.TestSupport;
using Microsoft.Data.Sqlite;

namespace Hawser.Controller.Tests;

/// <summary>The embedded SQLite store on a real file system.</summary>
[TestClass]
public sealed class ControllerStoreTests
{
    private static NodeRecord Node(string name, params (string Key, string Value)[] labels) => new()
    {
        Name = name,
        Labels = labels.ToDictionary(l => l.Key, l => l.Value),
        AgentVersion = "0.1.0",
        FirstSeen = DateTimeOffset.Parse("2026-11-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
        LastSeen = DateTimeOffset.Parse("2026-11-21T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
        DesiredRevision = 3,
        AppliedRevision = 2,
    };

    [TestMethod]
    public void New_store_is_private_in_WAL_mode_at_the_latest_schema()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        using var store = ControllerStore.Open(data);

        Assert.AreEqual(StoreMigrations.LatestVersion, store.SchemaVersion);
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.DatabasePath));
        using var connection = new SqliteConnection($"Data Source={store.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.AreEqual("wal", command.ExecuteScalar());
    }

    [TestMethod]
    public async Task Nodes_survive_a_reopen()
    {
        using var temp = new TempDirectory();
        using (var store = ControllerStore.Open(temp.Path))
        {
            await store.Nodes.UpsertAsync(Node("web2", ("role", "web")));
            await store.Nodes.UpsertAsync(Node("web1", ("role", "web"), ("zone", "a")));
        }

        using var reopened = ControllerStore.Open(temp.Path);

        var nodes = await reopened.Nodes.ListAsync();
        CollectionAssert.AreEqual(new[] { "web1", "web2" }, nodes.Select(n => n.Name).ToArray());
        Assert.AreEqual("a", nodes[0].Labels["zone"]);
        Assert.AreEqual(3UL, nodes[0].DesiredRevision);
        Assert.AreEqual(Node("x").LastSeen, nodes[0].LastSeen);
        Assert.IsNull((await reopened.Nodes.GetAsync("web9")));
    }

    [TestMethod]
    public void Second_open_of_the_same_directory_is_refused()
    {
        using var temp = new TempDirectory();
        using var first = ControllerStore.Open(temp.Path);

        var ex = Assert.ThrowsExactly<StoreException>(() => ControllerStore.Open(temp.Path));

        StringAssert.Contains(ex.Message, "another hawser-controller is already using");
        StringAssert.Contains(ex.Message, temp.Path);
    }

    [TestMethod]
    public async Task Schema_newer_than_this_build_is_refused_and_left_untouched()
    {
        using var temp = new TempDirectory();
        using (var store = ControllerStore.Open(temp.Path))
        {
            await store.Nodes.UpsertAsync(Node("web1"));
        }
        var database = Path.Combine(temp.Path, ControllerStore.DatabaseFileName);
        using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {StoreMigrations.LatestVersion + 5}";
            command.ExecuteNonQuery();
        }

        var ex = Assert.ThrowsExactly<StoreException>(() => ControllerStore.Open(temp.Path));

        StringAssert.Contains(ex.Message, $"schema version {StoreMigrations.LatestVersion + 5}");
        using var check = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        check.Open();
        using var count = check.CreateCommand();
        count.CommandText = "SELECT count(*) FROM nodes";
        Assert.AreEqual(1L, count.ExecuteScalar());
    }

    [TestMethod]
    public void Directory_that_cannot_be_created_gives_a_clear_error()
    {
        using var temp = new TempDirectory();
        var blocker = Path.Combine(temp.Path, "file");
        File.WriteAllText(blocker, "not a directory");

        var ex = Assert.ThrowsExactly<StoreException>(() => ControllerStore.Open(Path.Combine(blocker, "data")));

        StringAssert.Contains(ex.Message, "cannot create the data directory");
    }
}
