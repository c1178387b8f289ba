using System.Globalization;
using System.Text.Json;
using Hawser.Controller.Store;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Upgrading the controller over a store an earlier release wrote (4893f4d, schema 7: rollouts as serialized messages, times
/// as ISO text): its own controller, hawserctl and agents make the store as an operator's would be on upgrade day, this
/// build's controller opens and converts it, and hawserctl shows every node, revision, event and rollout as the older one
/// did; the enrolled agents reconnect with their certificates, a join token left over still enrolls and a revoked one is
/// still refused. On PostgreSQL the two versions are never both on one store: this one refuses to upgrade it while an older
/// controller runs there, and the older one refuses the upgraded store.
/// </summary>
[TestClass]
public sealed class UpgradeTests
{
    /// <summary>The release before the store's schema 8.</summary>
    private const string Older = "4893f4d";

    private static PostgresServer? s_postgres;

    [ClassCleanup]
    public static async Task StopPostgresAsync()
    {
        if (s_postgres is not null)
        {
            await s_postgres.DisposeAsync();
        }
    }

    private static string Spec(string keepalive) =>
        "apiVersion: hawser/v1\nnodes:\n  web1: {labels: {role: web}}\n  web2: {labels: {role: web}}\n"
        + $"profiles:\n  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{keepalive}\"}}\n";

    /// <summary>What hawserctl shows, each by its arguments.</summary>
    /// <summary>The key under which the views keep web1's host facts, read before the upgrade with this build's hawserctl.</summary>
    private const string HostView = "status web1: host";

    private static readonly string[][] Views =
    [
        ["status", "-o", "json"],
        // One node in detail: its last report's resources and installed certificates, and its outcome (stored as wire blobs before schema 9).
        ["status", "web1", "-o", "json"],
        ["revisions", "-o", "json"],
        ["rollout", "list", "-o", "json"],
        ["rollout", "status", "1", "-o", "json"],
        ["events", "--limit", "10000", "-o", "json"],
    ];

    [TestMethod]
    public async Task A_sqlite_store_written_by_the_earlier_release_opens_converts_and_reads_back_the_same() =>
        await UpgradeAsync(postgres: false);

    [TestMethod]
    public async Task A_postgres_store_written_by_the_earlier_release_is_upgraded_only_once_no_older_controller_runs_and_refused_by_it_after() =>
        await UpgradeAsync(postgres: true);

    private static async Task UpgradeAsync(bool postgres)
    {
        var older = await OlderBuild.OfAsync(Older);
        using var data = new TempDirectory();
        var listen = $"127.0.0.1:{AgentFleet.FreePort()}";
        string? store = null;
        if (postgres)
        {
            s_postgres ??= await PostgresServer.StartAsync();
            store = s_postgres.Url(await s_postgres.CreateDatabaseAsync("upgrade"));
        }
        var hosts = new List<AgentHost>();
        try
        {
            Dictionary<string, JsonElement> before;
            string leftOver, revoked;
            using (HawserProcesses.UseCheckout(older))
            {
                await using var controller = await StartAsync(data.Path, listen, store);
                (before, leftOver, revoked) = await MakeOlderStoreAsync(controller, hosts);
                if (postgres)
                {
                    // Still running: this build must not upgrade the store under it.
                    using (HawserProcesses.UseCheckout(RepoPaths.Root))
                    {
                        var refused = await HawserProcesses.RunAsync("hawser-controller",
                            ["run", "--listen", $"127.0.0.1:{AgentFleet.FreePort()}", "--data", data.Path, "--store", store!]);
                        Assert.AreEqual(3, refused.ExitCode, refused.Output);
                        StringAssert.Contains(refused.Output, $"has schema version 7 and this hawser-controller would upgrade it to {StoreMigrations.LatestVersion}, but 1 older controller(s) still run on it");
                        StringAssert.Contains(refused.Output, "Nothing was changed");
                        Assert.AreEqual(7L, Convert.ToInt64(await s_postgres!.ScalarAsync("upgrade", "SELECT version FROM hawser_schema"), CultureInfo.InvariantCulture), "the store is left as it was");
                        Assert.AreEqual(1L, await s_postgres.ScalarAsync("upgrade", "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'rollouts' AND column_name = 'document'"));
                    }
                }
                Assert.AreEqual(0, await controller.StopAsync(), string.Join("\n", controller.Log));
            }

            await using (var upgraded = await StartAsync(data.Path, listen, store))
            {
                foreach (var view in Views)
                {
                    var now = await CtlAsync(upgraded, view);
                    Assert.AreEqual(0, now.ExitCode, now.Output);
                    var after = JsonDocument.Parse(now.StandardOutput).RootElement;
                    var old = before[string.Join(' ', view)];
                    if (view[0] == "events")
                    {
                        // The same events, and nothing else yet: the upgrade wrote none of its own.
                        old = old.GetProperty("events");
                        after = after.GetProperty("events");
                    }
                    AssertSame(old, after, string.Join(' ', view));
                }
                var facts = before[HostView];
                Assert.AreEqual(JsonValueKind.Object, facts.ValueKind, "the older build stored web1's host facts");
                Assert.IsTrue(facts.GetProperty("hostname").GetString()!.Length > 0 && facts.GetProperty("kernel").GetString()!.Length > 0, facts.GetRawText());
                var factsNow = JsonDocument.Parse((await CtlAsync(upgraded, ["status", "web1", "-o", "json"])).StandardOutput).RootElement.GetProperty("host");
                AssertSame(facts, factsNow, HostView);
                AssertSame(factsNow, facts, HostView);
                // The admin credential the older init made is the operator "admin" (the store never recorded it), until rotated.
                var whoami = await CtlAsync(upgraded, ["whoami"]);
                Assert.AreEqual(0, whoami.ExitCode, whoami.Output);
                StringAssert.StartsWith(whoami.StandardOutput, "admin: admin of all nodes");
                var operators = await CtlAsync(upgraded, ["operator", "list", "-o", "json"]);
                CollectionAssert.AreEqual(new[] { "admin admin live" }, JsonDocument.Parse(operators.StandardOutput).RootElement.EnumerateArray()
                    .Select(o => $"{o.GetProperty("name").GetString()} {o.GetProperty("role").GetString()} {o.GetProperty("state").GetString()}").ToArray());
                if (postgres)
                {
                    Assert.AreEqual((long)StoreMigrations.LatestVersion, Convert.ToInt64(await s_postgres!.ScalarAsync("upgrade", "SELECT version FROM hawser_schema"), CultureInfo.InvariantCulture));
                }

                // The agents enrolled before the upgrade come back with their certificates, on revision 2, in sync.
                var agents = new List<AgentProcess>();
                try
                {
                    foreach (var (host, node) in hosts.Zip(new[] { "web1", "web2" }))
                    {
                        agents.Add(AgentProcess.Start(host, node, upgraded.Address, "--ca-hash", upgraded.CaHash, "--proc-sys", host.PathOf("/proc-sys")));
                    }
                    foreach (var agent in agents)
                    {
                        await agent.WaitForAsync("connected to");
                        Assert.DoesNotContain("enrolled", agent.Output, "it kept its certificate: no new enrollment");
                    }
                    Assert.IsTrue(await Poll.UntilAsync(async () =>
                    {
                        var status = await CtlAsync(upgraded, ["status", "-o", "json"]);
                        return status.ExitCode == 0 && JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
                            .All(n => n.GetProperty("connected").GetBoolean() && n.GetProperty("appliedRevision").GetUInt64() == 2 && n.GetProperty("state").GetString() == "in-sync");
                    }, TimeSpan.FromSeconds(60)), "web1 and web2 reconnected and in sync on revision 2");

                    // The join token left with uses enrolls a third node; the revoked one is still refused.
                    using var third = NewHost();
                    agents.Add(AgentProcess.Start(third, "web3", upgraded.Address, "--join-token", leftOver, "--ca-hash", upgraded.CaHash, "--proc-sys", third.PathOf("/proc-sys")));
                    await agents[^1].WaitForAsync("connected to");
                    using var fourth = NewHost();
                    await using var refusedAgent = AgentProcess.Start(fourth, "web4", upgraded.Address, "--join-token", revoked, "--ca-hash", upgraded.CaHash, "--proc-sys", fourth.PathOf("/proc-sys"));
                    await refusedAgent.WaitForAsync("revoked");
                }
                finally
                {
                    foreach (var agent in agents)
                    {
                        await agent.DisposeAsync();
                    }
                }
            }

            if (postgres)
            {
                // The older release refuses the upgraded store rather than writing its old schema into it.
                using (HawserProcesses.UseCheckout(older))
                {
                    var refused = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", listen, "--data", data.Path, "--store", store!]);
                    Assert.AreEqual(3, refused.ExitCode, refused.Output);
                    StringAssert.Contains(refused.Output, $"has schema version {StoreMigrations.LatestVersion}, but this hawser-controller knows only up to 7; run the newer controller that wrote it");
                }
            }
        }
        finally
        {
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
    }

    /// <summary>
    /// With the older release: two join tokens (one then revoked), web1 and web2 enrolled, revision 1 applied to both,
    /// revision 2 rolled out one node per batch, the agents stopped. Returns what hawserctl shows then and the two tokens.
    /// </summary>
    private static async Task<(Dictionary<string, JsonElement> Views, string LeftOver, string Revoked)> MakeOlderStoreAsync(ControllerProcess controller, List<AgentHost> hosts)
    {
        var leftOver = Token(await CtlAsync(controller, ["token", "create", "--uses", "3", "-o", "json"]));
        var revokedJson = await CtlAsync(controller, ["token", "create", "-o", "json"]);
        var revoked = Token(revokedJson);
        var revoke = await CtlAsync(controller, ["token", "revoke", revoked]);
        Assert.AreEqual(0, revoke.ExitCode, revoke.Output);
        var agents = new List<AgentProcess>();
        try
        {
            foreach (var node in new[] { "web1", "web2" })
            {
                var host = NewHost();
                hosts.Add(host);
                agents.Add(AgentProcess.Start(host, node, controller.Address, "--join-token", leftOver, "--ca-hash", controller.CaHash, "--proc-sys", host.PathOf("/proc-sys")));
            }
            foreach (var agent in agents)
            {
                await agent.WaitForAsync("connected to");
            }
            var spec = Path.Join(controller.DataDirectory, "spec.yaml");
            File.WriteAllText(spec, Spec("600"));
            var first = await CtlAsync(controller, ["apply", "-f", spec, "-m", "keepalive 600"]);
            Assert.AreEqual(0, first.ExitCode, first.Output);
            File.WriteAllText(spec, Spec("700"));
            var second = await CtlAsync(controller, ["apply", "-f", spec, "-m", "keepalive 700, one node at a time", "--rollout", "--batch", "1"]);
            Assert.AreEqual(0, second.ExitCode, second.Output);
            // Every node converged; the rollout is marked done on the engine's next step.
            Assert.IsTrue(await Poll.UntilAsync(async () =>
                JsonDocument.Parse((await CtlAsync(controller, ["rollout", "status", "1", "-o", "json"])).StandardOutput).RootElement.GetProperty("state").GetString() == "done",
                TimeSpan.FromSeconds(30)), "the older release finished its rollout");
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            var status = await CtlAsync(controller, ["status", "-o", "json"]);
            return JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray().All(n => !n.GetProperty("connected").GetBoolean());
        }, TimeSpan.FromSeconds(30)), "the agents are seen offline");
        var views = new Dictionary<string, JsonElement>();
        foreach (var view in Views)
        {
            var shown = await CtlAsync(controller, view);
            Assert.AreEqual(0, shown.ExitCode, shown.Output);
            views[string.Join(' ', view)] = JsonDocument.Parse(shown.StandardOutput).RootElement.Clone();
        }
        // The host facts the older build stored (a wire blob before schema 10), as this build's hawserctl shows them (the older one did not).
        using (HawserProcesses.UseCheckout(RepoPaths.Root))
        {
            var detail = await CtlAsync(controller, ["status", "web1", "-o", "json"]);
            Assert.AreEqual(0, detail.ExitCode, detail.Output);
            views[HostView] = JsonDocument.Parse(detail.StandardOutput).RootElement.GetProperty("host").Clone();
        }
        return (views, leftOver, revoked);
    }

    private static string Token(ProcessResult created)
    {
        Assert.AreEqual(0, created.ExitCode, created.Output);
        return JsonDocument.Parse(created.StandardOutput).RootElement.GetProperty("token").GetString()!;
    }

    private static AgentHost NewHost()
    {
        var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        return host;
    }

    private static Task<ControllerProcess> StartAsync(string data, string listen, string? store) =>
        store is null ? ControllerProcess.StartAsync(data, listen) : ControllerProcess.StartSharedAsync(data, listen, store, null);

    private static Task<ProcessResult> CtlAsync(ControllerProcess controller, string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    /// <summary>
    /// Every value the older hawserctl showed is shown the same by this one (which may show more fields); times compare to the
    /// millisecond, the precision the store keeps since schema 8.
    /// </summary>
    private static void AssertSame(JsonElement old, JsonElement now, string path)
    {
        switch (old.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.AreEqual(JsonValueKind.Object, now.ValueKind, path);
                foreach (var property in old.EnumerateObject())
                {
                    Assert.IsTrue(now.TryGetProperty(property.Name, out var value), $"{path}.{property.Name} is gone");
                    AssertSame(property.Value, value, $"{path}.{property.Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.AreEqual(old.GetArrayLength(), now.GetArrayLength(), path);
                for (var i = 0; i < old.GetArrayLength(); i++)
                {
                    AssertSame(old[i], now[i], $"{path}[{i}]");
                }
                break;
            case JsonValueKind.String:
                Assert.AreEqual(Normal(old.GetString()!), Normal(now.GetString()!), path);
                break;
            default:
                Assert.AreEqual(old.GetRawText(), now.GetRawText(), path);
                break;
        }
    }

    private static string Normal(string text) =>
        text.Length >= 20 && text[4] == '-' && text[10] == 'T' && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds()).ToString("O", CultureInfo.InvariantCulture)
            : text;
}
