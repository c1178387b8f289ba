using Hawser.Controller.Rollouts;
using System.Security.Cryptography;
using Hawser.Controller.Store;
using Hawser.Controller.Store.Engines;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>
/// The store's behaviour, the same tests on both engines: the embedded SQLite file, and a real PostgreSQL
/// (Debian's server, a cluster of its own in a temporary directory, one fresh database per test).
/// </summary>
[TestClass]
public sealed class StoreEngineTests
{
    private static PostgresServer? s_postgres;
    private static int s_databases;

    [ClassInitialize]
    public static async Task StartPostgresAsync(TestContext _) => s_postgres = await PostgresServer.StartAsync();

    [ClassCleanup]
    public static async Task StopPostgresAsync()
    {
        if (s_postgres is not null)
        {
            await s_postgres.DisposeAsync();
        }
    }

    /// <summary>A fresh, empty store of <paramref name="engine"/>; <paramref name="location"/> opens it again.</summary>
    private static async Task<(ControllerStore Store, Func<ControllerStore> Reopen, IDisposable Cleanup)> FreshAsync(string engine)
    {
        if (engine == "sqlite")
        {
            var directory = new TempDirectory();
            return (ControllerStore.Open(directory.Path), () => ControllerStore.Open(directory.Path), directory);
        }
        var database = await s_postgres!.CreateDatabaseAsync($"store{Interlocked.Increment(ref s_databases)}");
        var location = StoreLocation.Parse(s_postgres.Url(database), "/nonexistent");
        return (ControllerStore.Open(location.OpenEngine(initialized: false), initialized: false),
            () => ControllerStore.Open(location.OpenEngine(initialized: false), initialized: false), new TempDirectory());
    }

    /// <summary>A report of <paramref name="revision"/> whose one changed resource carries <paramref name="diff"/>.</summary>
    private static NodeReport Report(ulong revision, string diff) => new(revision, DryRun: false, DateTimeOffset.UnixEpoch,
        [new ResourceReport("sysctl", "net.ipv4.x", ResourceOutcome.Changed, diff, "", ["a warning"])],
        new Dictionary<string, string> { ["site"] = $"serial-{diff}" }, DesiredStateNew: false);

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task Revisions_nodes_and_reports_round_trip_and_survive_a_reopen(string engine)
    {
        var (store, reopen, cleanup) = await FreshAsync(engine);
        using var _ = cleanup;
        using (store)
        {
            Assert.AreEqual(StoreMigrations.LatestVersion, store.SchemaVersion);
            Assert.AreEqual(1UL, (await store.Revisions.AddAsync("alice", "first", "apiVersion: hawser/v1\n")).Number);
            Assert.AreEqual(2UL, (await store.Revisions.AddAsync("bob", "", "apiVersion: hawser/v1\nnodes: {}\n")).Number);
            var seen = DateTimeOffset.Parse("2026-11-27T01:02:03.456+00:00");
            await store.Nodes.UpsertAsync(new NodeRecord
            {
                Name = "web1", Labels = new Dictionary<string, string> { ["role"] = "web" }, AgentVersion = "1.0", Facts = new NodeFacts("6.1", "Debian 12", "systemd", [], "", "x86_64", "web1"),
                FirstSeen = seen, LastSeen = seen, DesiredRevision = 2, AppliedRevision = 0,
            });
            await store.Nodes.RecordHelloAsync("web1", "1.1", new NodeFacts("6.12", "Debian 13", "openrc",
                [new InterfaceFacts("eth0", ["192.0.2.7/24", "2001:db8::7/64"], true), new InterfaceFacts("docker0", [], false)], "28.1.1", "aarch64", "web1.example"), 1);
            await store.Nodes.RecordReportAsync("web1", 2, Report(2, "nine"), driftCorrected: false, [new EventRecord { Kind = "node.converged", Actor = "node:web1", Node = "web1", Revision = 2, Summary = "converged" }], isOutcome: true);
            await store.Nodes.RecordReportAsync("web1", 2, Report(2, "eight"), driftCorrected: true);
            await store.Nodes.RecordReportAsync("web1", 2, Report(2, "seven"), driftCorrected: true);
        }
        using var reopened = reopen();
        var revision = (await reopened.Revisions.GetAsync(1))!;
        Assert.AreEqual("alice", revision.Author);
        Assert.AreEqual("apiVersion: hawser/v1\n", revision.SpecText);
        Assert.AreEqual(Convert.ToHexStringLower(SHA256.HashData("apiVersion: hawser/v1\n"u8)), revision.SpecSha256);
        Assert.AreEqual(2UL, (await reopened.Revisions.LatestAsync())!.Number);
        var node = (await reopened.Nodes.GetAsync("web1"))!;
        Assert.AreEqual("1.1", node.AgentVersion);
        Assert.AreEqual("6.12", node.Facts!.Kernel);
        Assert.AreEqual("Debian 13 openrc 28.1.1 aarch64 web1.example", $"{node.Facts.Distro} {node.Facts.InitSystem} {node.Facts.DockerVersion} {node.Facts.Architecture} {node.Facts.Hostname}");
        Assert.AreEqual("eth0 up 192.0.2.7/24 2001:db8::7/64; docker0 down ",
            string.Join("; ", node.Facts.Interfaces.Select(i => $"{i.Name} {(i.Up ? "up" : "down")} {string.Join(' ', i.Addresses)}")));
        Assert.AreEqual("seven", node.LastReport!.Resources.Single().Diff);
        Assert.AreEqual(ResourceOutcome.Changed, node.LastReport.Resources.Single().State);
        Assert.AreEqual("serial-seven", node.LastReport.InstalledCertificates["site"]);
        Assert.AreEqual("nine", node.OutcomeReport!.Resources.Single().Diff, "later reports that are not the revision's converge leave its outcome");
        Assert.AreEqual(2UL, node.AppliedRevision);
        Assert.AreEqual(2, node.DriftCorrected);
        Assert.AreEqual("web", node.Labels["role"]);
        Assert.AreEqual(DateTimeOffset.Parse("2026-11-27T01:02:03.456+00:00"), node.FirstSeen);
        Assert.IsNotNull(node.LastReportAt);
        CollectionAssert.AreEqual(new[] { "spec.applied", "spec.applied", "node.converged" },
            (await reopened.Events.ListAsync(new EventQuery())).Select(e => e.Kind).ToArray());
        Assert.AreEqual("converged", (await reopened.Events.ListAsync(new EventQuery { Kind = "node" })).Single().Summary);

        await reopened.Nodes.UpdateAsync(new Dictionary<string, ulong> { ["web1"] = 1 }, new Dictionary<string, IReadOnlyDictionary<string, string>> { ["web1"] = new Dictionary<string, string> { ["role"] = "db" } });
        Assert.AreEqual(1UL, (await reopened.Nodes.GetAsync("web1"))!.DesiredRevision);
        Assert.AreEqual("db", (await reopened.Nodes.ListAsync()).Single().Labels["role"]);
    }

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task Reports_of_many_nodes_at_once_are_each_stored_with_their_own_events(string engine)
    {
        // Thousands of agents answer one apply together; SQLite writes the reports waiting meanwhile in one transaction.
        var (store, _, cleanup) = await FreshAsync(engine);
        using var _ = cleanup;
        using var __ = store;
        const int Nodes = 300;
        var seen = DateTimeOffset.UtcNow;
        for (var i = 0; i < Nodes; i++)
        {
            await store.Nodes.UpsertAsync(new NodeRecord { Name = $"n{i}", Labels = new Dictionary<string, string>(), AgentVersion = "1", FirstSeen = seen, LastSeen = seen, DesiredRevision = 3, AppliedRevision = 0 });
        }
        await Task.WhenAll(Enumerable.Range(0, Nodes + 1).Select(i => Task.Run(() => store.Nodes.RecordReportAsync($"n{i}", 3, Report(3, $"n{i}"), driftCorrected: false,
            [new EventRecord { Kind = "node.converged", Actor = $"node:n{i}", Node = $"n{i}", Revision = 3, Summary = $"n{i} converged" }], isOutcome: true))));

        var nodes = (await store.Nodes.ListAsync()).ToDictionary(n => n.Name);
        Assert.AreEqual(Nodes, nodes.Count, "a report of a node the store does not hold (n300, removed) adds none");
        for (var i = 0; i < Nodes; i++)
        {
            Assert.AreEqual($"n{i}", nodes[$"n{i}"].LastReport!.Resources.Single().Diff, $"n{i}'s own report");
            Assert.AreEqual(3UL, nodes[$"n{i}"].AppliedRevision);
        }
        var events = await store.Events.ListAsync(new EventQuery { Kind = "node", Limit = 1000 });
        CollectionAssert.AreEquivalent(Enumerable.Range(0, Nodes).Select(i => $"n{i} converged").ToArray(), events.Select(e => e.Summary).ToArray(),
            "one event per stored report, none for the removed node");
    }

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task A_fleet_of_more_nodes_than_one_statement_sets_gets_every_desired_revision_label_and_pin(string engine)
    {
        var (store, _, cleanup) = await FreshAsync(engine);
        using var _ = cleanup;
        using var __ = store;
        var now = DateTimeOffset.UtcNow;
        var names = Enumerable.Range(0, 1201).Select(i => $"node{i:0000}").ToList();
        foreach (var name in names)
        {
            await store.Nodes.UpsertAsync(new NodeRecord { Name = name, Labels = new Dictionary<string, string>(), AgentVersion = "", FirstSeen = now, LastSeen = now, DesiredRevision = 0, AppliedRevision = 0 });
        }
        await store.Nodes.SetPinsAsync(names.ToDictionary(n => n, n => n == "node0600" ? null : (ulong?)7));

        await store.Nodes.UpdateAsync(names.ToDictionary(n => n, n => (ulong)(n.EndsWith('1') ? 3 : 2)),
            names.ToDictionary(n => n, n => (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { ["name"] = n }), followNewest: true);

        var nodes = await store.Nodes.ListAsync();
        Assert.HasCount(1201, nodes);
        Assert.IsTrue(nodes.All(n => n.DesiredRevision == (n.Name.EndsWith('1') ? 3UL : 2UL) && n.Labels["name"] == n.Name && n.PinnedRevision is null),
            string.Join(", ", nodes.Where(n => n.PinnedRevision is not null || n.Labels.GetValueOrDefault("name") != n.Name).Select(n => n.Name).Take(5)));
        await store.Nodes.SetPinsAsync(new Dictionary<string, ulong?> { ["node1200"] = 0, ["node0000"] = 5 });
        Assert.AreEqual(0UL, (await store.Nodes.GetAsync("node1200"))!.PinnedRevision);
        Assert.AreEqual(5UL, (await store.Nodes.GetAsync("node0000"))!.PinnedRevision);
    }

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task A_follower_gets_its_first_page_then_only_newer_events_each_once(string engine)
    {
        var (store, _, cleanup) = await FreshAsync(engine);
        using var _ = cleanup;
        using var __ = store;
        for (var i = 1; i <= 5; i++)
        {
            await store.Events.AddAsync(new EventRecord { Kind = "token.created", Actor = "alice", Summary = $"old {i}" });
        }
        // The first page asks for the newest two; one asking from a time to come gets none.
        var follower = new EventFollower(store, new EventQuery { Limit = 2 });
        var later = new EventFollower(store, new EventQuery { Since = DateTimeOffset.UtcNow.AddHours(1) });
        CollectionAssert.AreEqual(new[] { "old 4", "old 5" }, (await follower.NextAsync(100, CancellationToken.None)).Select(e => e.Summary).ToArray());
        Assert.IsEmpty((await later.NextAsync(100, CancellationToken.None)));

        await store.Events.AddAsync(new EventRecord { Kind = "token.created", Actor = "alice", Summary = "new 6" });

        CollectionAssert.AreEqual(new[] { "new 6" }, (await follower.NextAsync(100, CancellationToken.None)).Select(e => e.Summary).ToArray());
        CollectionAssert.AreEqual(new[] { "new 6" }, (await later.NextAsync(100, CancellationToken.None)).Select(e => e.Summary).ToArray(), "no event from before it followed");
        Assert.IsEmpty((await follower.NextAsync(100, CancellationToken.None)));
    }

    [TestMethod]
    public async Task A_follower_on_postgres_gets_an_event_committed_after_one_with_a_larger_id()
    {
        var (store, _, cleanup) = await FreshAsync("postgres");
        using var _ = cleanup;
        using var __ = store;
        await store.Events.AddAsync(new EventRecord { Kind = "token.created", Actor = "alice", Summary = "first" });
        var follower = new EventFollower(store, new EventQuery());
        Assert.HasCount(1, (await follower.NextAsync(100, CancellationToken.None)));

        // A transaction takes the next id and stays open while a later event commits.
        await using var slow = store.OpenConnection();
        await using var transaction = await slow.BeginTransactionAsync();
        await using (var insert = slow.Command(transaction, "INSERT INTO events (at_ms, kind, actor, node, revision, summary, details) VALUES (0, 'token.created', 'bob', '', 0, 'committed late', '')"))
        {
            await insert.ExecuteNonQueryAsync();
        }
        await store.Events.AddAsync(new EventRecord { Kind = "token.created", Actor = "alice", Summary = "committed first" });
        CollectionAssert.AreEqual(new[] { "committed first" }, (await follower.NextAsync(100, CancellationToken.None)).Select(e => e.Summary).ToArray());
        await transaction.CommitAsync();

        CollectionAssert.AreEqual(new[] { "committed late" }, (await follower.NextAsync(100, CancellationToken.None)).Select(e => e.Summary).ToArray(), "a smaller id, visible later, still comes");
        Assert.IsEmpty((await follower.NextAsync(100, CancellationToken.None)), "and only once");
    }

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task Join_tokens_are_spent_once_per_use_and_certificates_are_revoked_with_their_node(string engine)
    {
        var (store, _, cleanup) = await FreshAsync(engine);
        using var __ = cleanup;
        using var ___ = store;
        byte[] secret = [1, 2, 3, 4];
        await store.Enrollment.AddTokenAsync("t1", secret, DateTimeOffset.UtcNow.AddHours(1), 2, new Dictionary<string, string> { ["role"] = "web" });
        var now = DateTimeOffset.UtcNow;
        Assert.AreEqual(JoinTokenProblem.Unknown, (await store.Enrollment.ConsumeTokenAsync("t1", [9], now)).Problem);
        Assert.AreEqual("web", (await store.Enrollment.ConsumeTokenAsync("t1", secret, now)).Labels["role"]);
        // Spent from several threads at once, the one use left goes to exactly one.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () => (await store.Enrollment.ConsumeTokenAsync("t1", secret, now)).Problem)));
        Assert.AreEqual(1, outcomes.Count(p => p == JoinTokenProblem.None), string.Join(",", outcomes));
        Assert.IsTrue(outcomes.Where(p => p != JoinTokenProblem.None).All(p => p == JoinTokenProblem.UsedUp), string.Join(",", outcomes));
        Assert.AreEqual(JoinTokenProblem.Expired, (await store.Enrollment.ConsumeTokenAsync("t1", secret, now.AddHours(2))).Problem);
        Assert.IsTrue((await store.Enrollment.RevokeTokenAsync("t1")));
        Assert.AreEqual(JoinTokenProblem.Revoked, (await store.Enrollment.ConsumeTokenAsync("t1", secret, now)).Problem);
        Assert.IsFalse((await store.Enrollment.RevokeTokenAsync("none")));

        await store.Nodes.UpsertAsync(new NodeRecord { Name = "web1", Labels = new Dictionary<string, string>(), AgentVersion = "", FirstSeen = now, LastSeen = now, DesiredRevision = 0, AppliedRevision = 0 });
        await store.Enrollment.AddCertificateAsync("01ab", "web1", now.AddDays(30));
        Assert.IsTrue((await store.Enrollment.IsCertificateValidAsync("01ab", "web1")));
        Assert.IsFalse((await store.Enrollment.IsCertificateValidAsync("01ab", "web2")));
        Assert.IsTrue((await store.Enrollment.HasValidCertificateAsync("web1")));
        Assert.AreEqual(1, (await store.Nodes.RemoveAsync("web1")));
        Assert.IsFalse((await store.Enrollment.IsCertificateValidAsync("01ab", "web1")));
        Assert.IsNull((await store.Nodes.GetAsync("web1")));
    }

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task Acme_material_rollouts_pins_and_event_pruning(string engine)
    {
        var (store, _, cleanup) = await FreshAsync(engine);
        using var __ = cleanup;
        using var ___ = store;
        var directory = new Uri("https://ca.example/dir");
        Assert.IsNull((await store.Certificates.GetAccountAsync(directory)));
        await store.Certificates.SaveAccountAsync(directory, [1, 2], new Uri("https://ca.example/acct/1"));
        await store.Certificates.SaveAccountAsync(directory, [3, 4], new Uri("https://ca.example/acct/1"));
        CollectionAssert.AreEqual(new byte[] { 3, 4 }, (await store.Certificates.GetAccountAsync(directory))!.Value.KeySealed);

        await store.Certificates.RecordErrorAsync("site", ["a.example", "b.example"], "CA down");
        Assert.AreEqual("CA down", (await store.Certificates.GetAsync("site"))!.LastError);
        var from = DateTimeOffset.Parse("2026-11-01T00:00:00+00:00");
        await store.Certificates.SaveAsync(new IssuedCertificateRecord
        {
            Name = "site", Domains = ["a.example", "b.example"], ChainPem = "-----BEGIN CERTIFICATE-----", KeySealed = [7], Serial = "beef",
            NotBefore = from, NotAfter = from.AddDays(90),
        });
        var held = (await store.Certificates.ListAsync()).Single();
        Assert.IsNull(held.LastError);
        Assert.AreEqual("beef", held.Serial);
        CollectionAssert.AreEqual(new[] { "a.example", "b.example" }, held.Domains.ToArray());
        Assert.AreEqual(from.AddDays(60), held.RenewAt);

        var now = DateTimeOffset.UtcNow;
        foreach (var name in new[] { "web1", "web2" })
        {
            await store.Nodes.UpsertAsync(new NodeRecord { Name = name, Labels = new Dictionary<string, string>(), AgentVersion = "", FirstSeen = now, LastSeen = now, DesiredRevision = 0, AppliedRevision = 0 });
        }
        var first = await store.Rollouts.SaveAsync(TestRollouts.New(RolloutState.Running, 3), new Dictionary<string, ulong?> { ["web1"] = 3, ["web2"] = 0 },
            [new EventRecord { Kind = "rollout.started", Actor = "alice", Summary = "started" }]);
        var second = await store.Rollouts.SaveAsync(TestRollouts.New(RolloutState.Done, 4));
        Assert.AreEqual(1UL, first.Id);
        Assert.AreEqual(2UL, second.Id);
        Assert.AreEqual(1UL, (await store.Rollouts.ActiveAsync())!.Id);
        Assert.AreEqual(3UL, (await store.Nodes.GetAsync("web1"))!.PinnedRevision);
        // A plain apply's write (every node to the newest, pins ended) is refused while the rollout is active, and changes nothing.
        var refused = await Assert.ThrowsExactlyAsync<RolloutActiveException>(() => store.Nodes.UpdateAsync(
            new Dictionary<string, ulong> { ["web1"] = 4 }, new Dictionary<string, IReadOnlyDictionary<string, string>>(), followNewest: true));
        Assert.AreEqual(1UL, refused.Id);
        Assert.AreEqual(3UL, (await store.Nodes.GetAsync("web1"))!.PinnedRevision);
        Assert.AreEqual(0UL, (await store.Nodes.GetAsync("web1"))!.DesiredRevision);
        Assert.AreEqual(0UL, (await store.Nodes.GetAsync("web2"))!.PinnedRevision);
        await store.Nodes.SetPinsAsync(new Dictionary<string, ulong?> { ["web1"] = null });
        Assert.IsNull((await store.Nodes.GetAsync("web1"))!.PinnedRevision);
        CollectionAssert.AreEqual(new[] { 2UL, 1UL }, (await store.Rollouts.ListAsync()).Select(r => r.Id).ToArray());
        var started = (await store.Events.ListAsync(new EventQuery { Kind = "rollout.started" })).Single();
        Assert.AreEqual("rollout 1: started", started.Summary);
        Assert.AreEqual(3UL, started.Revision);

        await store.Events.AddAsync(new EventRecord { Kind = "web.login", Actor = "web:x", Summary = "old", At = now.AddDays(-10) });
        await store.Events.AddAsync(new EventRecord { Kind = "web.login", Actor = "web:x", Summary = "new" });
        Assert.AreEqual(1, (await store.Events.PruneAsync(now.AddDays(-1), 100)));
        Assert.AreEqual("new", (await store.Events.ListAsync(new EventQuery { Kind = "web" })).Single().Summary);
        Assert.AreEqual(1, (await store.Events.ListAsync(new EventQuery { Since = now.AddMinutes(-1), Kind = "web" })).Count);
    }

    [TestMethod]
    [DataRow("sqlite")]
    [DataRow("postgres")]
    public async Task A_lease_is_held_by_one_holder_until_it_expires_and_the_old_holders_writes_are_fenced_off(string engine)
    {
        var (store, _, cleanup) = await FreshAsync(engine);
        using var __ = cleanup;
        using var ___ = store;
        var first = (await store.Leases.TryAcquireAsync("certificate:site", "ctl-a", TimeSpan.FromMinutes(1)))!;
        Assert.AreEqual(1L, first.Term);
        Assert.IsNull((await store.Leases.TryAcquireAsync("certificate:site", "ctl-b", TimeSpan.FromMinutes(1))), "held: refused to another");
        Assert.IsTrue((await store.Leases.RenewAsync(first, TimeSpan.FromMilliseconds(1))));
        // Expired on the database's clock, it goes to the next taker with the next term.
        StoreLease? second = null;
        Assert.IsTrue(await Poll.UntilAsync(async () => (second = await store.Leases.TryAcquireAsync("certificate:site", "ctl-b", TimeSpan.FromMinutes(1))) is not null, TimeSpan.FromSeconds(10)));
        Assert.AreEqual(2L, second!.Term);
        Assert.IsFalse((await store.Leases.RenewAsync(first, TimeSpan.FromMinutes(1))), "the old holder cannot renew");
        var record = new IssuedCertificateRecord { Name = "site", Domains = ["a.example"], ChainPem = "x", KeySealed = [1], Serial = "01", NotBefore = DateTimeOffset.UtcNow, NotAfter = DateTimeOffset.UtcNow.AddDays(1) };
        await Assert.ThrowsExactlyAsync<LeaseLostException>(() => store.Certificates.SaveAsync(record, first));
        Assert.IsNull((await store.Certificates.GetAsync("site")), "the fenced write changed nothing");
        await store.Certificates.SaveAsync(record, second);
        Assert.AreEqual("01", (await store.Certificates.GetAsync("site"))!.Serial);
        await store.Leases.ReleaseAsync(second);
        Assert.AreEqual(3L, (await store.Leases.TryAcquireAsync("certificate:site", "ctl-a", TimeSpan.FromMinutes(1)))!.Term, "a released lease is free at once");
    }

    [TestMethod]
    public async Task Two_controllers_on_one_database_number_revisions_and_rollouts_without_collisions()
    {
        var database = await s_postgres!.CreateDatabaseAsync($"store{Interlocked.Increment(ref s_databases)}");
        var location = StoreLocation.Parse(s_postgres.Url(database), "/nonexistent");
        // Two opened at once migrate once between them.
        var opened = await Task.WhenAll(Task.Run(() => ControllerStore.Open(location.OpenEngine(false), false)), Task.Run(() => ControllerStore.Open(location.OpenEngine(false), false)));
        using var a = opened[0];
        using var b = opened[1];
        var numbers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () => (await (i % 2 == 0 ? a : b).Revisions.AddAsync("x", $"{i}", "apiVersion: hawser/v1\n")).Number)));
        CollectionAssert.AreEquivalent(Enumerable.Range(1, 20).Select(i => (ulong)i).ToArray(), numbers);
        var rollouts = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(async () => (await (i % 2 == 0 ? a : b).Rollouts.SaveAsync(TestRollouts.New(RolloutState.Done))).Id)));
        CollectionAssert.AreEquivalent(Enumerable.Range(1, 10).Select(i => (ulong)i).ToArray(), rollouts);
        Assert.AreEqual(20L, await s_postgres.ScalarAsync(database, "SELECT COUNT(*) FROM events WHERE kind = 'spec.applied'"));

        // Ten running rollouts started at once through both: one is stored, every other start is refused naming it.
        var starts = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            try
            {
                return (Started: (await (i % 2 == 0 ? a : b).Rollouts.SaveAsync(TestRollouts.New(RolloutState.Running, 1))).Id, Refused: (string?)null);
            }
            catch (RolloutActiveException ex)
            {
                return (Started: 0UL, Refused: ex.Message);
            }
        })));
        var started = starts.Where(s => s.Started != 0).Select(s => s.Started).Single();
        Assert.AreEqual(11UL, started);
        Assert.IsTrue(starts.Where(s => s.Started == 0).All(s => s.Refused == "rollout 11 is running; abort it (or let it finish) before starting another"),
            string.Join("\n", starts.Select(s => s.Refused)));
    }

    [TestMethod]
    public async Task A_schema_newer_than_this_build_is_refused_on_postgres_and_left_untouched()
    {
        var database = await s_postgres!.CreateDatabaseAsync($"store{Interlocked.Increment(ref s_databases)}");
        var location = StoreLocation.Parse(s_postgres.Url(database), "/nonexistent");
        ControllerStore.Open(location.OpenEngine(false), false).Dispose();
        await s_postgres.ScalarAsync(database, "UPDATE hawser_schema SET version = 99");
        var ex = Assert.ThrowsExactly<StoreException>(() => ControllerStore.Open(location.OpenEngine(false), false));
        StringAssert.Contains(ex.Message, "has schema version 99");
        StringAssert.Contains(ex.Message, "postgres://hawser@");
        Assert.AreEqual(99, await s_postgres.ScalarAsync(database, "SELECT version FROM hawser_schema"));
    }

    [TestMethod]
    public async Task An_unreachable_or_missing_database_is_a_clear_error_without_the_password()
    {
        var location = StoreLocation.Parse($"postgres://hawser:s3cret@/nosuchdb?host={Uri.EscapeDataString(s_postgres!.SocketDirectory)}&port=5432", "/nonexistent");
        var missing = Assert.ThrowsExactly<StoreException>(() => ControllerStore.Open(location.OpenEngine(false), false));
        StringAssert.Contains(missing.Message, "does not exist");
        Assert.IsFalse(missing.Message.Contains("s3cret", StringComparison.Ordinal), missing.Message);
        var nowhere = StoreLocation.Parse("postgres://hawser:s3cret@/db?host=/nonexistent-socket-dir&connect_timeout=2", "/nonexistent");
        var unreachable = Assert.ThrowsExactly<StoreException>(() => ControllerStore.Open(nowhere.OpenEngine(false), false));
        StringAssert.StartsWith(unreachable.Message, "cannot reach the store postgres://hawser@/db?host=/nonexistent-socket-dir:");
        Assert.IsFalse(unreachable.Message.Contains("s3cret", StringComparison.Ordinal), unreachable.Message);
    }

    [TestMethod]
    public void Store_option_values_are_read_or_refused_by_name()
    {
        Assert.AreEqual("/var/lib/x/controller.db", StoreLocation.Parse(null, "/var/lib/x").Description);
        Assert.AreEqual("/srv/c/controller.db", StoreLocation.Parse("sqlite:/srv/c", "/var/lib/x").Description);
        var url = StoreLocation.Parse("postgresql://ctl:p%40ss@db.example:6432/hawser?sslmode=verify-full&application_name=ctl-a", "/x");
        Assert.AreEqual("postgres://ctl@db.example:6432/hawser", url.Description);
        StringAssert.Contains(url.PostgresConnectionString, "Password=p@ss");
        StringAssert.Contains(url.PostgresConnectionString, "SSL Mode=VerifyFull");
        Assert.IsTrue(url.IsShared);
        var keyValue = StoreLocation.Parse("Host=db1;Database=hawser;Username=ctl", "/x");
        Assert.AreEqual("postgres://ctl@db1/hawser", keyValue.Description);
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => StoreLocation.Parse("postgres://db/x?sslmod=require", "/x")).Message, "'sslmod'");
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => StoreLocation.Parse("postgres:///hawser", "/x")).Message, "names no host");
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => StoreLocation.Parse("/nonexistent/store.conf", "/x")).Message, "neither a store URL");

        using var temp = new TempDirectory();
        var file = Path.Join(temp.Path, "store.conf");
        File.WriteAllText(file, "postgres://ctl:secret@db.example/hawser\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => StoreLocation.Parse(file, "/x")).Message, $"chmod 600 {file}");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.AreEqual("postgres://ctl@db.example/hawser", StoreLocation.Parse(file, "/x").Description);
    }
}
