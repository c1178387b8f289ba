using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Several controllers on one real PostgreSQL (Debian's, a cluster of its own per test): any controller
/// serves everything, single-writer jobs run under leases, and agents move between controllers.
/// </summary>
[TestClass]
public sealed class HaFleetTests
{
    private const string Spec = """
        apiVersion: hawser/v1
        nodes:
          web1: {labels: {role: web}}
          web2: {labels: {role: web}}
        profiles:
          web:
            selector: {role: web}
            sysctls: {net.ipv4.tcp_keepalive_time: "610"}
        """;

    /// <summary>Stops every agent, then removes every host's root.</summary>
    private static async Task StopAllAsync(List<AgentProcess> agents, List<AgentHost> hosts)
    {
        foreach (var agent in agents)
        {
            await agent.DisposeAsync();
        }
        foreach (var host in hosts)
        {
            host.Dispose();
        }
    }

    /// <summary>Starts an agent for <paramref name="node"/> (own root and /proc/sys directory) enrolled through <paramref name="controller"/>.</summary>
    private static AgentProcess StartAgent(ControllerProcess controller, string node, string token, List<AgentHost> hosts, params string[] extra)
    {
        var host = new AgentHost();
        hosts.Add(host);
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        RolloutScenario.PrepareHost(node, host);
        return AgentProcess.Start(host, node, controller.Address, ["--join-token", token, "--ca-hash", controller.CaHash, "--proc-sys", host.PathOf("/proc-sys"), .. extra]);
    }

    private static async Task<JsonElement[]> NodesAsync(ControllerCluster cluster, int controller)
    {
        var status = await cluster.CtlAsync(controller, "status", "-o", "json");
        Assert.AreEqual(0, status.ExitCode, status.Output);
        return [.. JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()];
    }

    [TestMethod]
    public async Task An_apply_through_one_controller_reaches_an_agent_connected_to_another_and_either_shows_it()
    {
        await using var cluster = await ControllerCluster.StartAsync(2);
        var hosts = new List<AgentHost>();
        // The token is made through A and spent through B: enrollment works through any controller.
        var token = await cluster.TokenAsync(0, 2);
        var onB = StartAgent(cluster[1], "web1", token, hosts);
        var onA = StartAgent(cluster[0], "web2", token, hosts);
        try
        {
            await onB.WaitForAsync("connected to");
            await onA.WaitForAsync("connected to");

            var path = Path.Join(hosts[0].Root, "spec.yaml");
            File.WriteAllText(path, Spec);
            var apply = await cluster.CtlAsync(0, "apply", "-f", path, "-m", "through A");
            Assert.AreEqual(0, apply.ExitCode, apply.Output + cluster.Diagnostics() + onB.Output);
            // A's recap waits for web1's report, which B stored.
            StringAssert.Contains(apply.StandardOutput, "web1 : ok=");
            Assert.AreEqual("610", hosts[0].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim(), "the agent on B has A's apply");
            Assert.AreEqual("610", hosts[1].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());

            // B shows what A stored, and both nodes as they reported through either controller.
            var throughB = await NodesAsync(cluster, 1);
            Assert.IsTrue(throughB.All(n => n.GetProperty("appliedRevision").GetUInt64() == 1), string.Join(",", throughB.Select(n => n.ToString())));
            var revisions = await cluster.CtlAsync(1, "revisions");
            StringAssert.Contains(revisions.StandardOutput, "through A");
            Assert.AreEqual(0, (await cluster.CtlAsync(1, "status", "--check")).ExitCode, "in sync as seen through B");

            // A dry run through A asks the agent on B as well (relayed through the store), and changes nothing.
            var candidate = Path.Join(hosts[0].Root, "candidate.yaml");
            File.WriteAllText(candidate, Spec.Replace("\"610\"", "\"611\"", StringComparison.Ordinal));
            var diff = await cluster.CtlAsync(0, "diff", "-f", candidate);
            Assert.AreEqual(2, diff.ExitCode, diff.Output + cluster.Diagnostics());
            StringAssert.Contains(diff.StandardOutput, "web1, web2: 2 resource(s) would change\n");
            StringAssert.Contains(diff.StandardOutput, "would-change  sysctl:net.ipv4.tcp_keepalive_time 610 -> 611\n");
            StringAssert.EndsWith(diff.StandardOutput, "2 of 2 node(s) would change (4 resource(s)), 0 would fail, 0 not connected\n");
            Assert.AreEqual("610", hosts[0].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim(), "a dry run changes nothing");

            // Issue 29, item 8: one config naming both controllers, with A's admin credential; status says which holds each agent.
            var both = Path.Join(hosts[0].Root, "both.yaml");
            File.WriteAllLines(both, [$"controllers: [{cluster[0].Address}, {cluster[1].Address}]",
                .. File.ReadAllLines(cluster[0].CtlConfig).Where(l => !l.StartsWith("controller:", StringComparison.Ordinal))]);
            var held = JsonDocument.Parse((await HawserProcesses.RunAsync("hawserctl", ["--config", both, "status", "-o", "json"])).StandardOutput).RootElement
                .GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("controller").GetString());
            Assert.IsFalse(string.IsNullOrEmpty(held["web1"]) || string.IsNullOrEmpty(held["web2"]), string.Join(", ", held));
            Assert.AreNotEqual(held["web1"], held["web2"], "web1 is on B, web2 on A");
            StringAssert.Contains((await HawserProcesses.RunAsync("hawserctl", ["--config", both, "-o", "wide", "status"])).StandardOutput, "CONTROLLER");
            // A stops: the same command line moves on to B, says so, and answers.
            var first = cluster[0].Address;
            await cluster.StopAsync(0);
            var failedOver = await HawserProcesses.RunAsync("hawserctl", ["--config", both, "status", "-o", "json"]);
            Assert.AreEqual(0, failedOver.ExitCode, failedOver.Output);
            StringAssert.Contains(failedOver.StandardError, $"the controller at {first} cannot be reached; trying the next the config names");
            Assert.AreEqual(2, JsonDocument.Parse(failedOver.StandardOutput).RootElement.GetProperty("nodes").GetArrayLength(), failedOver.Output);
            // Both down: one note for the first, then the error naming both (no "trying the next" after the last).
            var second = cluster[1].Address;
            await cluster.StopAsync(1);
            var neither = await HawserProcesses.RunAsync("hawserctl", ["--config", both, "status"]);
            Assert.AreEqual(3, neither.ExitCode, neither.Output);
            Assert.AreEqual(1, System.Text.RegularExpressions.Regex.Count(neither.StandardError, "trying the next"), neither.StandardError);
            StringAssert.Contains(neither.StandardError, $"cannot reach any controller the config names ({first}, {second})");
        }
        finally
        {
            // Agents first: a running agent still writes under its root while it is removed.
            await StopAllAsync([onB, onA], hosts);
        }
    }

    [TestMethod]
    public async Task A_web_login_made_on_one_controller_works_on_another_whose_live_view_shows_what_the_first_changed()
    {
        await using var cluster = await ControllerCluster.StartAsync(2, "--web-break-glass");
        var hosts = new List<AgentHost>();
        var token = await cluster.TokenAsync(0, 1);
        var agent = StartAgent(cluster[0], "web1", token, hosts);
        try
        {
            await agent.WaitForAsync("connected to");
            using var a = cluster[0].WebClient();
            using var b = cluster[1].WebClient();
            using var login = await a.PostAsync("/login", new FormUrlEncodedContent([new("token", cluster[0].WebToken)]));
            Assert.AreEqual(System.Net.HttpStatusCode.Redirect, login.StatusCode, await login.Content.ReadAsStringAsync());
            var cookie = login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];

            // The session A made is B's too: it is in the store, not in A's memory.
            using var nodes = new HttpRequestMessage(HttpMethod.Get, "/api/v1/nodes") { Headers = { { "Cookie", cookie } } };
            using var listed = await b.SendAsync(nodes);
            Assert.AreEqual(System.Net.HttpStatusCode.OK, listed.StatusCode);
            var web1 = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Single(n => n.GetProperty("name").GetString() == "web1");
            // B's overview says which controller holds each agent: web1's stream is A's, and B says it is serving.
            StringAssert.StartsWith(web1.GetProperty("controller").GetString(), $"{Environment.MachineName}/{cluster[0].Pid}/", web1.ToString());
            using var health = new HttpRequestMessage(HttpMethod.Get, "/api/v1/controller") { Headers = { { "Cookie", cookie } } };
            using var answered = await b.SendAsync(health);
            var controller = JsonDocument.Parse(await answered.Content.ReadAsStringAsync()).RootElement;
            StringAssert.StartsWith(controller.GetProperty("id").GetString(), $"{Environment.MachineName}/{cluster[1].Pid}/", controller.ToString());
            Assert.IsTrue(controller.GetProperty("serving").GetBoolean() && controller.GetProperty("shared").GetBoolean(), controller.ToString());
            Assert.AreEqual("postgres", controller.GetProperty("store").GetString());

            // B's live view (server-sent events) shows what was changed through A, whose agent reports to A.
            using var subscribe = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events") { Headers = { { "Cookie", cookie } } };
            using var stream = await b.SendAsync(subscribe, HttpCompletionOption.ResponseHeadersRead);
            Assert.AreEqual(System.Net.HttpStatusCode.OK, stream.StatusCode);
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
            Assert.AreEqual(": connected", await reader.ReadLineAsync());
            var path = Path.Join(hosts[0].Root, "spec.yaml");
            File.WriteAllText(path, Spec);
            Assert.AreEqual(0, (await cluster.CtlAsync(0, "apply", "-f", path)).ExitCode);
            await ReadUntilAsync(reader, "event: nodes", cluster);
            // The overview's chart, counted in PostgreSQL: 24 hours, web1's converge among them.
            using var chart = new HttpRequestMessage(HttpMethod.Get, "/api/v1/charts/outcomes") { Headers = { { "Cookie", cookie } } };
            using var charted = await b.SendAsync(chart);
            var hours = JsonDocument.Parse(await charted.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
            Assert.HasCount(24, hours);
            Assert.IsGreaterThanOrEqualTo(1, hours.Sum(h => h.GetProperty("converged").GetInt64() + h.GetProperty("failed").GetInt64()), string.Join(",", hours));
            File.WriteAllText(path, Spec.Replace("\"610\"", "\"620\"", StringComparison.Ordinal));
            var rollout = await cluster.CtlAsync(0, "apply", "-f", path, "--rollout", "-o", "json");
            Assert.AreEqual(0, rollout.ExitCode, rollout.Output);
            var id = JsonDocument.Parse(rollout.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64();
            await ReadUntilAsync(reader, "event: rollout", cluster);
            StringAssert.Contains(await reader.ReadLineAsync(), $"\"id\":{id},", "the rollout's JSON follows its event line");
        }
        finally
        {
            await StopAllAsync([agent], hosts);
        }
    }

    /// <summary>Reads server-sent event lines until <paramref name="line"/> (a minute at most).</summary>
    private static async Task ReadUntilAsync(StreamReader reader, string line, ControllerCluster cluster)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var seen = new List<string>();
        try
        {
            while (await reader.ReadLineAsync(timeout.Token) is { } read)
            {
                if (read == line)
                {
                    return;
                }
                seen.Add(read);
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.Fail($"no '{line}' in the stream; read:\n{string.Join("\n", seen)}\n{cluster.Diagnostics()}");
    }

    /// <summary>Five agents (the rollout scenario's nodes), each given every controller's URL, enrolled through controller 0.</summary>
    private static async Task<List<AgentProcess>> StartFleetAsync(ControllerCluster cluster, List<AgentHost> hosts)
    {
        var token = await cluster.TokenAsync(0, RolloutScenario.Nodes.Length);
        var others = cluster.Controllers.Skip(1).SelectMany(c => new[] { "--controller", c!.Address.ToString() }).ToArray();
        var agents = RolloutScenario.Nodes.Select(node => StartAgent(cluster[0], node, token, hosts, others)).ToList();
        foreach (var agent in agents)
        {
            await agent.WaitForAsync("connected to");
        }
        return agents;
    }

    private static Task<JsonElement> WaitRolloutAsync(ControllerCluster cluster, int controller, ulong id, Func<JsonElement, bool> done, string what, int seconds = 90) =>
        WaitRolloutAsync(cluster, controller, id, r => Task.FromResult(done(r)), what, seconds);

    private static async Task<JsonElement> WaitRolloutAsync(ControllerCluster cluster, int controller, ulong id, Func<JsonElement, Task<bool>> done, string what, int seconds = 90)
    {
        JsonElement rollout = default;
        var reached = await Poll.UntilAsync(async () =>
        {
            var status = await cluster.CtlAsync(controller, "rollout", "status", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json");
            if (status.ExitCode != 0)
            {
                return false;
            }
            rollout = JsonDocument.Parse(status.StandardOutput).RootElement.Clone();
            return await done(rollout);
        }, TimeSpan.FromSeconds(seconds));
        Assert.IsTrue(reached, $"rollout {id}: {what} did not happen; last: {rollout}\n{cluster.Diagnostics()}");
        return rollout;
    }

    private static string NodeState(JsonElement rollout, string node) =>
        rollout.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == node).GetProperty("state").GetString()!;

    private static async Task<ProcessResult> ApplyAsync(ControllerCluster cluster, int controller, AgentHost host, string name, string spec, params string[] extra)
    {
        var path = Path.Join(host.Root, name);
        File.WriteAllText(path, spec);
        return await cluster.CtlAsync(controller, ["apply", "-f", path, .. extra]);
    }

    /// <summary>
    /// Applies revision 1 through controller 0, starts rolling revision 2 out one node a batch through controller
    /// <paramref name="through"/>, and waits until two batches moved; returns the rollout and the controller holding its lease.
    /// </summary>
    private static async Task<(ulong Id, int Holder)> RollOutHalfwayAsync(ControllerCluster cluster, AgentHost host, int through)
    {
        Assert.AreEqual(0, (await ApplyAsync(cluster, 0, host, "v1.yaml", RolloutScenario.V1)).ExitCode);
        // Pauses long enough that the rollout is still running when a slow poll on a loaded machine sees two batches moved.
        var started = await ApplyAsync(cluster, through, host, "v2.yaml", RolloutScenario.V2Good, "--rollout", "--batch", "1", "--pause", "4s", "-o", "json");
        Assert.AreEqual(0, started.ExitCode, started.Output);
        var id = JsonDocument.Parse(started.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64();
        var holder = -1;
        // The holder is read in the same poll that sees web2 healthy, while the rollout is seen running.
        await WaitRolloutAsync(cluster, 0, id, async r => NodeState(r, "web2") == "healthy" && r.GetProperty("state").GetString() == "running"
            && (holder = await cluster.HolderOfAsync($"rollout:{id}")) >= 0, "two batches moved, the lease held");
        return (id, holder);
    }

    [TestMethod]
    public async Task The_controller_holding_a_rollouts_lease_is_killed_and_another_finishes_it_moving_each_node_once()
    {
        await using var cluster = await ControllerCluster.StartAsync(2, "--lease-ttl", "3s");
        var hosts = new List<AgentHost>();
        var agents = await StartFleetAsync(cluster, hosts);
        try
        {
            var (id, holder) = await RollOutHalfwayAsync(cluster, hosts[0], through: 1);
            await cluster.KillAsync(holder);
            var survivor = 1 - holder;

            var done = await WaitRolloutAsync(cluster, survivor, id, r => r.GetProperty("state").GetString() == "done", "done after its holder was killed");
            Assert.IsTrue(done.GetProperty("nodes").EnumerateArray().All(n => n.GetProperty("state").GetString() == "healthy"), done.ToString());
            StringAssert.Contains(string.Join("\n", cluster[survivor].Log), $"lease rollout:{id} taken");
            foreach (var agent in agents)
            {
                var converged = agent.Output.Split('\n').Count(l => l.Contains("] converged revision 2:", StringComparison.Ordinal));
                Assert.AreEqual(1, converged, $"{agent.Node} applied revision 2 once\n{agent.Output}");
                Assert.AreEqual("610", hosts[agents.IndexOf(agent)].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());
            }
            // No batch was skipped: the batches were stepped in order, each once.
            var batches = await cluster.Postgres.ScalarAsync(cluster.Database,
                $"SELECT string_agg(summary, '|' ORDER BY id) FROM events WHERE kind = 'rollout.batch' AND summary LIKE 'rollout {id}:%'") as string;
            Assert.IsNotNull(batches, "batch events were stored");
        }
        finally
        {
            await StopAllAsync(agents, hosts);
        }
    }

    private const string CertificateDomain = "www.ha-fleet.test";

    /// <summary>Three web nodes sharing certificate 'www' for the round-robin name, installed as a PEM pair.</summary>
    private static string CertificateSpec(Uri directory) => $$$"""
        apiVersion: hawser/v1
        acme: {directory: "{{{directory}}}", email: ops@example.org, validationPort: {{{PebbleServer.HttpChallengePort}}}}
        nodes:
          web1: {labels: {role: web}}
          web2: {labels: {role: web}}
          web3: {labels: {role: web}}
        profiles:
          web:
            selector: {role: web}
            certificates:
              - name: www
                domains: [{{{CertificateDomain}}}]
                install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}]
        """;

    private static readonly string[] CertificateNodes = ["web1", "web2", "web3"];
    private static readonly string[] CertificateAddresses = ["127.0.4.61", "127.0.4.62", "127.0.4.63"];

    /// <summary>Three agents answering HTTP-01 on their own addresses, each given both controllers, enrolled through controller <paramref name="first"/> (so they start spread).</summary>
    private static async Task<List<AgentProcess>> StartCertificateAgentsAsync(ControllerCluster cluster, List<AgentHost> hosts)
    {
        var token = await cluster.TokenAsync(0, CertificateNodes.Length);
        var agents = new List<AgentProcess>();
        for (var i = 0; i < CertificateNodes.Length; i++)
        {
            var host = new AgentHost();
            hosts.Add(host);
            host.WriteFile("/etc/hawser/agent.yaml", $"acmeChallenge: {{listen: \"{CertificateAddresses[i]}:{PebbleServer.HttpChallengePort}\"}}\n");
            // web1 and web3 start on controller 0, web2 on controller 1: an order's challenge reaches some nodes through the other controller.
            var (first, second) = i == 1 ? (cluster[1], cluster[0]) : (cluster[0], cluster[1]);
            agents.Add(AgentProcess.Start(host, CertificateNodes[i], first.Address, "--join-token", token, "--ca-hash", first.CaHash, "--controller", second.Address.ToString()));
        }
        foreach (var agent in agents)
        {
            await agent.WaitForAsync("connected to");
        }
        return agents;
    }

    /// <summary>Waits until every node has the same certificate installed; returns its serial.</summary>
    private static async Task<string> WaitForOneCertificateAsync(List<AgentHost> hosts, Func<string> diagnostics)
    {
        string[] serials = [];
        var installed = await Poll.UntilAsync(() =>
        {
            serials = [.. hosts.Select(host => File.Exists(host.PathOf("/etc/ssl/hawser/www.crt"))
                ? System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(host.PathOf("/etc/ssl/hawser/www.crt"))).SerialNumber : "")];
            return serials.All(s => s.Length > 0) && serials.Distinct().Count() == 1;
        }, TimeSpan.FromSeconds(90));
        Assert.IsTrue(installed, $"every node has one certificate: {string.Join(", ", serials)}\n{diagnostics()}");
        return serials[0];
    }

    private static async Task<long> IssuedEventsAsync(ControllerCluster cluster) =>
        (long)(await cluster.Postgres.ScalarAsync(cluster.Database, "SELECT COUNT(*) FROM events WHERE kind = 'certificate.issued'"))!;

    [TestMethod]
    public async Task The_controller_holding_a_certificates_lease_is_killed_mid_order_and_one_certificate_reaches_every_node()
    {
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(CertificateDomain, CertificateAddresses);
        await using var cluster = await ControllerCluster.StartAsync(2, "--lease-ttl", "3s", "--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer);
        var hosts = new List<AgentHost>();
        var agents = await StartCertificateAgentsAsync(cluster, hosts);
        var ca = pebble.CaProcessId;
        try
        {
            // The CA accepts connections and answers nothing: the order hangs with its lease held.
            Signals.Freeze(ca);
            var spec = Path.Join(hosts[0].Root, "spec.yaml");
            File.WriteAllText(spec, CertificateSpec(pebble.Directory));
            Assert.AreEqual(0, (await cluster.CtlAsync(0, "apply", "-f", spec, "--no-wait")).ExitCode);
            var holder = -1;
            Assert.IsTrue(await Poll.UntilAsync(async () => (holder = await cluster.HolderOfAsync("certificate:www")) >= 0, TimeSpan.FromSeconds(30)),
                "a controller took the order's lease\n" + cluster.Diagnostics());
            await cluster.KillAsync(holder);
            Signals.Thaw(ca);

            await WaitForOneCertificateAsync(hosts, () => cluster.Diagnostics() + string.Concat(agents.Select(a => a.Output)));
            Assert.AreEqual(1L, await IssuedEventsAsync(cluster), "one certificate was issued");
            StringAssert.Contains(string.Join("\n", cluster[1 - holder].Log), "lease certificate:www taken");
        }
        finally
        {
            Signals.Thaw(ca);
            await StopAllAsync(agents, hosts);
        }
    }

    [TestMethod]
    public async Task Two_controllers_started_at_once_with_a_certificate_due_order_it_once_after_its_stored_back_off()
    {
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(CertificateDomain, CertificateAddresses);
        await pebble.StopCaAsync();
        await using var cluster = await ControllerCluster.StartAsync(2, "--lease-ttl", "3s", "--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer,
            "--certificate-retry", "00:00:10");
        var hosts = new List<AgentHost>();
        var agents = await StartCertificateAgentsAsync(cluster, hosts);
        try
        {
            // Stored while the CA is down: the order fails and the certificate stays due.
            var spec = Path.Join(hosts[0].Root, "spec.yaml");
            File.WriteAllText(spec, CertificateSpec(pebble.Directory));
            Assert.AreEqual(0, (await cluster.CtlAsync(0, "apply", "-f", spec, "--no-wait")).ExitCode);
            Assert.IsTrue(await Poll.UntilAsync(async () => (long)(await cluster.Postgres.ScalarAsync(cluster.Database,
                "SELECT COUNT(*) FROM issued_certificates WHERE last_error IS NOT NULL AND next_attempt_ms IS NOT NULL"))! > 0, TimeSpan.FromSeconds(30)), cluster.Diagnostics());
            await cluster.StopAsync(0);
            await cluster.StopAsync(1);
            await pebble.StartCaAsync();
            var nextAttempt = DateTimeOffset.FromUnixTimeMilliseconds((long)(await cluster.Postgres.ScalarAsync(cluster.Database,
                "SELECT next_attempt_ms FROM issued_certificates WHERE name = 'www'"))!);

            // Both check at start, both find it due but backing off: neither orders before the stored time, then the lease lets one order it.
            await Task.WhenAll(cluster.StartAsync(0), cluster.StartAsync(1));
            await WaitForOneCertificateAsync(hosts, () => cluster.Diagnostics() + string.Concat(agents.Select(a => a.Output)));
            Assert.AreEqual(1L, await IssuedEventsAsync(cluster), "ordered once\n" + cluster.Diagnostics());
            var issuedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(await cluster.Postgres.ScalarAsync(cluster.Database,
                "SELECT at_ms FROM events WHERE kind = 'certificate.issued'"))!);
            Assert.IsGreaterThanOrEqualTo(nextAttempt, issuedAt, $"issued at {issuedAt:O}, after the stored next attempt {nextAttempt:O}");
        }
        finally
        {
            await StopAllAsync(agents, hosts);
        }
    }

    /// <summary>How many times <paramref name="agent"/> converged revision <paramref name="revision"/> (each is one move to it).</summary>
    private static int Converged(AgentProcess agent, int revision) =>
        agent.Output.Split('\n').Count(l => l.Contains($"] converged revision {revision}:", StringComparison.Ordinal));

    [TestMethod]
    public async Task A_lease_holder_cut_off_the_database_stops_its_rollout_and_another_controller_takes_it_over()
    {
        await using var cluster = await ControllerCluster.StartAsync(2, "--lease-ttl", "3s");
        var hosts = new List<AgentHost>();
        var agents = await StartFleetAsync(cluster, hosts);
        try
        {
            var (id, holder) = await RollOutHalfwayAsync(cluster, hosts[0], through: 0);
            var other = 1 - holder;

            // pg_terminate_backend on every connection of the holder, which may not log in again: it cannot renew.
            await cluster.CutOffAsync(holder, cut: true);
            var done = await WaitRolloutAsync(cluster, other, id, r => r.GetProperty("state").GetString() == "done", "done by the other controller");
            Assert.IsTrue(done.GetProperty("nodes").EnumerateArray().All(n => n.GetProperty("state").GetString() == "healthy"), done.ToString());
            Assert.IsTrue(await Poll.UntilAsync(() => string.Join("\n", cluster[holder].Log).Contains($"lease rollout:{id} (term 1) lost", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
                "the old holder stopped its job\n" + cluster.Diagnostics());
            StringAssert.Contains(string.Join("\n", cluster[other].Log), $"lease rollout:{id} taken (term 2)");

            // Back on the database, the old holder changes nothing more: each node moved to revision 2 once.
            await cluster.CutOffAsync(holder, cut: false);
            Assert.IsTrue(await Poll.UntilAsync(async () => (await cluster.CtlAsync(holder, "status")).ExitCode == 0, TimeSpan.FromSeconds(30)), cluster.Diagnostics());
            await cluster[other].WaitForReportsAsync(2);
            foreach (var agent in agents)
            {
                Assert.AreEqual(1, Converged(agent, 2), $"{agent.Node} applied revision 2 once\n{agent.Output}");
            }
            var final = await WaitRolloutAsync(cluster, holder, id, r => r.GetProperty("state").GetString() == "done", "still done, as the old holder sees it");
            Assert.AreEqual(done.GetProperty("batch").GetUInt32(), final.GetProperty("batch").GetUInt32());
        }
        finally
        {
            await StopAllAsync(agents, hosts);
        }
    }

    [TestMethod]
    public async Task An_operator_added_through_one_controller_works_on_the_other_and_its_revocation_on_the_first_refuses_its_next_call_on_the_second()
    {
        await using var cluster = await ControllerCluster.StartAsync(2);
        using var home = new TempDirectory();
        // Each controller's init made its own admin credential; both are the operator "admin".
        foreach (var index in new[] { 0, 1 })
        {
            var admin = await cluster.CtlAsync(index, "whoami");
            Assert.AreEqual(0, admin.ExitCode, admin.Output);
            StringAssert.StartsWith(admin.StandardOutput, "admin: admin of all nodes");
        }
        var alice = await OperatorCredential.AddAsync(cluster[0].CtlConfig, cluster[0].Address, home.Path, "alice", "viewer");
        var onSecond = await alice.CtlAsync("--controller", cluster[1].Address.ToString(), "whoami");
        Assert.AreEqual(0, onSecond.ExitCode, onSecond.Output);
        StringAssert.StartsWith(onSecond.StandardOutput, "alice: viewer of all nodes");

        Assert.AreEqual(0, (await cluster.CtlAsync(0, "operator", "revoke", "alice")).ExitCode);
        // Each call reads the operator from the store: the very next one on the other controller is refused, no poll needed.
        var refused = await alice.CtlAsync("--controller", cluster[1].Address.ToString(), "status");
        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.StandardError, "operator 'alice' was revoked at");
        var events = await cluster.CtlAsync(1, "events", "--actor", "alice", "-o", "json");
        Assert.IsTrue(System.Text.Json.JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").EnumerateArray()
            .Any(e => e.GetProperty("kind").GetString() == "rpc.refused" && e.GetProperty("summary").GetString()!.Contains("ListNodes to alice", StringComparison.Ordinal)), events.Output);
    }

    [TestMethod]
    public async Task PostgreSQL_restarted_under_load_loses_nothing_and_agents_only_reconnect()
    {
        await using var cluster = await ControllerCluster.StartAsync(2);
        var hosts = new List<AgentHost>();
        var agents = await StartFleetAsync(cluster, hosts);
        try
        {
            Assert.AreEqual(0, (await ApplyAsync(cluster, 0, hosts[0], "v1.yaml", RolloutScenario.V1)).ExitCode);
            var before = (long)(await cluster.Postgres.ScalarAsync(cluster.Database, "SELECT MAX(id) FROM events"))!;

            // Every agent reports every second; the server goes away in the middle of that and comes back.
            await cluster.Postgres.StopAsync();
            await cluster.Postgres.RestartAsync();
            // Both controllers answer from the store again.
            foreach (var index in new[] { 0, 1 })
            {
                Assert.IsTrue(await Poll.UntilAsync(async () => (await cluster.CtlAsync(index, "status")).ExitCode == 0, TimeSpan.FromSeconds(60)), cluster.Diagnostics());
            }
            var apply = await ApplyAsync(cluster, 1, hosts[0], "v2.yaml", RolloutScenario.V2Good, "-m", "after the restart");
            Assert.AreEqual(0, apply.ExitCode, apply.Output + cluster.Diagnostics());
            foreach (var host in hosts)
            {
                Assert.AreEqual("610", host.ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());
            }
            var revisions = await cluster.CtlAsync(0, "revisions");
            StringAssert.Contains(revisions.StandardOutput, "after the restart");
            Assert.AreEqual(1L, await cluster.Postgres.ScalarAsync(cluster.Database, $"SELECT COUNT(*) FROM events WHERE id = {before}"), "what was stored before is still there");
            foreach (var agent in agents)
            {
                // Whatever the agent met was a stream that ended and a reconnect: it never failed a converge or exited.
                Assert.IsFalse(agent.HasExited, agent.Output);
                Assert.IsFalse(agent.Output.Contains("] converged revision 2:", StringComparison.Ordinal) && agent.Output.Contains(" fail:", StringComparison.Ordinal), agent.Output);
            }
        }
        finally
        {
            await StopAllAsync(agents, hosts);
        }
    }

    /// <summary>How many nodes controller <paramref name="index"/> lists as connected (to any live controller), and how many have <paramref name="revision"/> applied.</summary>
    private static async Task<(int Connected, int Applied)> CountAsync(ControllerCluster cluster, int index, ulong revision = ulong.MaxValue)
    {
        using var channel = cluster[index].Channel();
        var nodes = await Hawser.Shared.Protocol.NodeListing.ListAllNodesAsync(new Hawser.Shared.Protocol.V1.ControlService.ControlServiceClient(channel));
        return (nodes.Count(n => n.Connected), nodes.Count(n => n.AppliedRevision == revision));
    }

    [TestMethod]
    public async Task A_thousand_agents_over_three_controllers_move_to_the_others_when_one_dies_and_none_enrolls_twice()
    {
        const int count = 1000;
        await using var cluster = await ControllerCluster.StartAsync(3, "--lease-ttl", "3s");
        await using var fleet = await SimulatedAgents.EnrollAsync(cluster, count);
        fleet.Start();
        Assert.IsTrue(await Poll.UntilAsync(async () => fleet.ConnectedTo.All(c => c >= 0) && (await CountAsync(cluster, 0)).Connected == count,
            TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(1)), $"all {count} connected: {(await CountAsync(cluster, 0)).Connected}\n{cluster.Diagnostics()}");
        var onVictim = fleet.ConnectedTo.Count(c => c == 2);
        Assert.IsTrue(onVictim > count / 10, $"the shuffled orders spread the agents: {onVictim} on controller 2");

        var killed = System.Diagnostics.Stopwatch.StartNew();
        await cluster.KillAsync(2);
        Assert.IsTrue(await Poll.UntilAsync(async () => fleet.ConnectedTo.All(c => c is 0 or 1) && (await CountAsync(cluster, 1)).Connected == count,
            TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(1)), $"every agent reconnected to the others: {(await CountAsync(cluster, 1)).Connected}\n{cluster.Diagnostics()}");
        Console.WriteLine($"failover: {onVictim} agents of the killed controller reconnected to the other two in {killed.Elapsed.TotalSeconds:0.0} s");

        Assert.AreEqual((long)count, await cluster.Postgres.ScalarAsync(cluster.Database, "SELECT COUNT(*) FROM certificates"), "none enrolled twice");
        Assert.AreEqual((long)count, await cluster.Postgres.ScalarAsync(cluster.Database, "SELECT COUNT(*) FROM nodes"));

        // An apply through one survivor reaches every agent, on either.
        var spec = new System.Text.StringBuilder("apiVersion: hawser/v1\nnodes:\n");
        foreach (var node in fleet.Nodes)
        {
            spec.Append("  ").Append(node).Append(": {labels: {role: web}}\n");
        }
        spec.Append("profiles:\n  web:\n    selector: {role: web}\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
        using (var admin = cluster[0].Channel())
        {
            var applied = await new Hawser.Shared.Protocol.V1.ControlService.ControlServiceClient(admin).ApplySpecAsync(
                new Hawser.Shared.Protocol.V1.ApplySpecRequest { SpecYaml = spec.ToString(), FileName = "fleet.yaml" });
            Assert.IsTrue(await Poll.UntilAsync(async () => (await CountAsync(cluster, 1, applied.Revision)).Applied == count, TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1)),
                $"every agent reported revision {applied.Revision}: {(await CountAsync(cluster, 1, applied.Revision)).Applied}");
        }
    }
}
