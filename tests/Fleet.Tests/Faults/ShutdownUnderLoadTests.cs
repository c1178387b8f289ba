using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests.Faults;

/// <summary>
/// SIGTERM while the controller is busy: an apply reaching a thousand agents with a certificate order in flight, then a
/// rollout moving them. It stops within its grace period with nothing left running, loses nothing it acknowledged, and the
/// next start carries on (the certificate is ordered and issued once).
/// </summary>
[TestClass]
public sealed class ShutdownUnderLoadTests
{
    private const int Agents = 1000;

    [TestMethod]
    public async Task Stopped_mid_apply_mid_order_and_mid_rollout_it_exits_within_its_grace_and_the_next_start_carries_on()
    {
        // The simulated agents serve no HTTP-01 answer, so this CA passes every challenge; validation is tested elsewhere.
        await using var pebble = await PebbleServer.StartAsync(alwaysValid: true);
        await using var cluster = await ControllerCluster.StartAsync(1, "--anonymous-rate", "1000", "--shutdown-timeout", "10s",
            "--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer);
        await using var fleet = await SimulatedAgents.EnrollAsync(cluster, Agents);
        var received = await fleet.StartTrackedAsync();
        using var temp = new TempDirectory();
        var specFile = Path.Join(temp.Path, "spec.yaml");

        // An apply in flight (its pushes are being written when SIGTERM comes) and its certificate's order with it: the CA
        // accepts connections and answers nothing, so the order is waiting on it.
        Signals.Freeze(pebble.CaProcessId);
        ulong applied;
        try
        {
            File.WriteAllText(specFile, WithCertificate(SimulatedAgents.Spec(fleet.Nodes, 601), fleet.Nodes.Take(3), pebble.Directory));
            var apply = await cluster.CtlAsync(0, "apply", "-f", specFile, "--no-wait", "-o", "json");
            Assert.AreEqual(0, apply.ExitCode, apply.Output + cluster.Diagnostics());
            applied = JsonDocument.Parse(apply.StandardOutput).RootElement.GetProperty("revision").GetUInt64();
            Assert.IsTrue(await Poll.UntilAsync(async () => await cluster.HolderOfAsync("certificate:www") == 0, TimeSpan.FromSeconds(30)),
                "the controller took the order's lease\n" + cluster.Diagnostics());
            await StopWithinGraceAsync(cluster);
        }
        finally
        {
            Signals.Thaw(pebble.CaProcessId);
        }

        // What each agent is sent from here on comes from the restarted controller (on connect, its desired state).
        received.Clear();
        await cluster.StartAsync(0);
        Assert.IsTrue(await Poll.UntilAsync(async () => await IssuedAsync(cluster) == 1, TimeSpan.FromMinutes(2)),
            $"after the restart the certificate is ordered again and issued: {await IssuedAsync(cluster)} issued\n{cluster.Diagnostics()}");
        Assert.IsTrue(await Poll.UntilAsync(() => Enumerable.Range(0, Agents).All(i => received.TryGetValue(i, out var r) && r == applied), TimeSpan.FromMinutes(3)),
            $"after the restart every agent is sent revision {applied}: {Enumerable.Range(0, Agents).Count(i => received.TryGetValue(i, out var r) && r == applied)} of {Agents}\n{cluster.Diagnostics()}");
        Assert.IsTrue(await Poll.UntilAsync(async () => await AppliedAsync(cluster, applied) == Agents, TimeSpan.FromMinutes(3)),
            $"every agent's report of revision {applied} is stored: {await AppliedAsync(cluster, applied)} of {Agents}");

        // A rollout in flight: batches of 10%, each held for its pause, so it is mid-way when SIGTERM comes.
        File.WriteAllText(specFile, SimulatedAgents.Spec(fleet.Nodes, 602));
        var started = await cluster.CtlAsync(0, "apply", "-f", specFile, "--rollout", "--batch", "10%", "--pause", "1s", "-o", "json");
        Assert.AreEqual(0, started.ExitCode, started.Output + cluster.Diagnostics());
        var id = JsonDocument.Parse(started.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64();
        var rolled = JsonDocument.Parse(started.StandardOutput).RootElement.GetProperty("revision").GetUInt64();
        Assert.IsTrue(await Poll.UntilAsync(async () => await RolloutBatchAsync(cluster, id) >= 2, TimeSpan.FromMinutes(2)), "the rollout moved two batches\n" + cluster.Diagnostics());
        await StopWithinGraceAsync(cluster);

        await cluster.StartAsync(0);
        Assert.IsTrue(await Poll.UntilAsync(() => fleet.ConnectedTo.All(c => c == 0), TimeSpan.FromMinutes(3)), "every agent reconnected\n" + cluster.Diagnostics());
        Assert.IsTrue(await Poll.UntilAsync(async () => await RolloutStateAsync(cluster, id) == "done", TimeSpan.FromMinutes(5)),
            $"the rollout finished after the restart: {await RolloutStateAsync(cluster, id)}\n{cluster.Diagnostics()}");
        Assert.AreEqual(Agents, await AppliedAsync(cluster, rolled), "every node applied the rollout's revision");
        Assert.AreEqual(1L, await IssuedAsync(cluster), "the certificate was issued once, through both restarts");
    }

    /// <summary>
    /// SIGTERM, then: the process exits on its own with 0, and its log names no loop left running when its grace ran out
    /// (the controller measures its grace itself; the test only waits for the exit).
    /// </summary>
    private static async Task StopWithinGraceAsync(ControllerCluster cluster)
    {
        var controller = cluster[0];
        var exit = await controller.StopAsync();
        var log = controller.Log;
        await cluster.StopAsync(0);
        Assert.AreEqual(0, exit, string.Join("\n", log));
        Assert.IsFalse(log.Any(l => l.Contains("did not stop within the shutdown grace period", StringComparison.Ordinal)), string.Join("\n", log));
    }

    /// <summary><paramref name="spec"/> with an ACME account on <paramref name="directory"/> and a certificate www for <paramref name="nodes"/>.</summary>
    private static string WithCertificate(string spec, IEnumerable<string> nodes, Uri directory)
    {
        foreach (var node in nodes)
        {
            spec = spec.Replace($"  {node}: {{labels: {{role: web}}}}\n", $"  {node}: {{labels: {{role: web, tls: \"on\"}}}}\n", StringComparison.Ordinal);
        }
        return spec.Replace("apiVersion: hawser/v1\n", $"apiVersion: hawser/v1\nacme: {{directory: \"{directory}\", email: ops@example.org, preflight: false}}\n", StringComparison.Ordinal)
            + "  tls:\n    selector: {tls: \"on\"}\n    certificates:\n      - name: www\n        domains: [www.example.org]\n"
            + "        install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}]\n";
    }

    /// <summary>Certificates the controller stored as issued (the event log's certificate.issued entries).</summary>
    private static async Task<long> IssuedAsync(ControllerCluster cluster) =>
        (long)(await cluster.Postgres.ScalarAsync(cluster.Database, "SELECT COUNT(*) FROM events WHERE kind = 'certificate.issued'"))!;

    private static async Task<int> AppliedAsync(ControllerCluster cluster, ulong revision)
    {
        var status = await cluster.CtlAsync(0, "status", "-o", "json");
        return status.ExitCode != 0 ? -1 : JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
            .Count(n => n.GetProperty("appliedRevision").GetUInt64() == revision);
    }

    private static async Task<JsonElement?> RolloutAsync(ControllerCluster cluster, ulong id)
    {
        var status = await cluster.CtlAsync(0, "rollout", "status", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json");
        return status.ExitCode == 0 ? JsonDocument.Parse(status.StandardOutput).RootElement.Clone() : null;
    }

    private static async Task<int> RolloutBatchAsync(ControllerCluster cluster, ulong id) =>
        await RolloutAsync(cluster, id) is { } rollout ? rollout.GetProperty("batch").GetInt32() : -1;

    private static async Task<string?> RolloutStateAsync(ControllerCluster cluster, ulong id) =>
        await RolloutAsync(cluster, id) is { } rollout ? rollout.GetProperty("state").GetString() : null;
}
