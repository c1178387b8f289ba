using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 27: orders that survive restarts without storms. A certificate's back-off is kept in the store, so a restarted
/// controller waits for it rather than ordering at once; and a breaker refuses a fourth order for the same names within
/// a week unless forced. Real Pebble, a real agent answering HTTP-01.
/// </summary>
[TestClass]
public sealed class OrderBackoffTests
{
    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static string Spec(Uri directory, string domain) => $$$"""
        apiVersion: hawser/v1
        acme: {directory: "{{{directory}}}", validationPort: {{{PebbleServer.HttpChallengePort}}}}
        nodes:
          web1:
            certificates:
              - name: www
                domains: [{{{domain}}}]
                install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key, verify: false}]
        """;

    private static async Task<List<DateTimeOffset>> FailuresAsync(ControllerProcess controller) =>
        [.. JsonDocument.Parse((await Ctl(controller, "events", "--kind", "certificate.order-failed", "-o", "json")).StandardOutput).RootElement
            .GetProperty("events").EnumerateArray().Select(e => e.GetProperty("at").GetDateTimeOffset()).Order()];

    /// <summary>The certificate as <c>certs -o json</c> lists it, once its <paramref name="property"/> is set (within a minute).</summary>
    private static async Task<JsonElement> CertificateOnceAsync(ControllerProcess controller, string property, string what)
    {
        JsonElement certificate = default;
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            certificate = JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0];
            return certificate.GetProperty(property).ValueKind == JsonValueKind.String;
        }, TimeSpan.FromSeconds(60)), what + ": " + certificate + "\n" + string.Join("\n", controller.Log));
        return certificate;
    }

    [TestMethod]
    public async Task A_restarted_controller_continues_the_stored_back_off_instead_of_ordering_at_once()
    {
        const string domain = "backoff.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.StopCaAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.81");
        using var data = new TempDirectory();
        string[] flags = ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-retry", "00:00:20", "--certificate-check-interval", "00:00:01"];
        var controller = await ControllerProcess.StartAsync(data.Path, extra: flags);
        using var host = new AgentHost();
        await using var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", "127.0.4.81");
        try
        {
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, Spec(pebble.Directory, domain));
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

            // The CA is down: the order fails, and when the next may be made is stored and shown.
            var certificate = await CertificateOnceAsync(controller, "nextAttempt", "the order failed and backs off");
            var nextAttempt = certificate.GetProperty("nextAttempt").GetDateTimeOffset();
            StringAssert.Contains(certificate.GetProperty("lastError").GetString(), "cannot reach the CA");
            Assert.HasCount(1, await FailuresAsync(controller));
            var listing = await Ctl(controller, "certs");
            StringAssert.Contains(listing.StandardOutput.ReplaceLineEndings(" "), "next attempt", listing.Output);

            // A restart right away, on the same address (the agent reconnects): the new process reads the back-off and does
            // not order before it ends.
            var listen = $"127.0.0.1:{controller.Address.Port}";
            await controller.StopAsync();
            await controller.DisposeAsync();
            controller = await ControllerProcess.StartAsync(data.Path, listen, extra: flags);
            List<DateTimeOffset> failures = [];
            Assert.IsTrue(await Poll.UntilAsync(async () => (failures = await FailuresAsync(controller)).Count >= 2, TimeSpan.FromSeconds(120)),
                "the order is tried again once its back-off ended\n" + string.Join("\n", controller.Log));
            Assert.IsGreaterThanOrEqualTo(nextAttempt, failures[1], $"the second attempt ({failures[1]:O}) waited for the stored time ({nextAttempt:O})");
        }
        finally
        {
            await controller.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task A_rate_limit_answer_holds_orders_until_its_Retry_After_across_a_restart_and_renew_needs_force()
    {
        const string domain = "limited.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.83");
        // Pebble has no rate limits: the stand-in answers newOrder the way Let's Encrypt does when one is hit.
        await using var front = await RateLimitingAcmeFront.StartAsync(pebble, TimeSpan.FromSeconds(30));
        using var data = new TempDirectory();
        // A first back-off of 1 s: only the CA's Retry-After can make the wait 30 s.
        string[] flags = ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-retry", "00:00:01", "--certificate-check-interval", "00:00:01"];
        var controller = await ControllerProcess.StartAsync(data.Path, extra: flags);
        using var host = new AgentHost();
        await using var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", "127.0.4.83");
        try
        {
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, Spec(front.Directory, domain));
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

            var certificate = await CertificateOnceAsync(controller, "nextAttempt", "the order was refused and backs off");
            var nextAttempt = certificate.GetProperty("nextAttempt").GetDateTimeOffset();
            StringAssert.Contains(certificate.GetProperty("lastError").GetString(), "rateLimited");
            Assert.HasCount(1, front.Orders);
            Assert.IsGreaterThanOrEqualTo(front.Orders[0].AddSeconds(29), nextAttempt, "the stored time is the CA's Retry-After, not the 1 s back-off");

            // A restart on the same address (the agent reconnects): the new process reads the limit; an operator's renew is
            // refused until it ends, naming it.
            var listen = $"127.0.0.1:{controller.Address.Port}";
            await controller.StopAsync();
            await controller.DisposeAsync();
            controller = await ControllerProcess.StartAsync(data.Path, listen, extra: flags);
            var refused = await Ctl(controller, "certs", "renew", "www", "--no-wait");
            if (DateTimeOffset.UtcNow < nextAttempt.AddSeconds(-1))
            {
                Assert.AreEqual(1, refused.ExitCode, refused.Output);
                StringAssert.Contains(refused.StandardError, "the CA limited its orders");
                StringAssert.Contains(refused.StandardError, "hawserctl certs renew www --force orders anyway");
            }
            Assert.IsTrue(await Poll.UntilAsync(() => Task.FromResult(front.Orders.Count >= 2), TimeSpan.FromSeconds(120)),
                "the order is made again once the limit ended\n" + string.Join("\n", controller.Log) + "\n" + agent.Output);
            Assert.IsGreaterThanOrEqualTo(nextAttempt, front.Orders[1], $"the second order ({front.Orders[1]:O}) waited for the CA's time ({nextAttempt:O})");
        }
        finally
        {
            await controller.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task An_order_whose_node_is_not_connected_waits_for_it_without_failing_and_is_made_when_it_reports()
    {
        const string domain = "waiting.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.84");
        using var data = new TempDirectory();
        // A first back-off of ten minutes: only the node's report can bring the order within this test.
        await using var controller = await ControllerProcess.StartAsync(data.Path,
            extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-retry", "00:10:00"]);
        using var host = new AgentHost();
        var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", "127.0.4.84");
        await agent.DisposeAsync();
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, Spec(pebble.Directory, domain));
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

        var certificate = await CertificateOnceAsync(controller, "lastError", "the order was looked at");
        StringAssert.Contains(certificate.GetProperty("lastError").GetString(), "waiting for web1 to connect before ordering");
        Assert.IsEmpty(await FailuresAsync(controller), "waiting for a node is not an order failure");
        Assert.AreEqual(0, pebble.Log.Split('\n').Count(l => l.Contains("Added order", StringComparison.Ordinal)), "nothing reached the CA");

        await using var back = AgentProcess.Start(host, "web1", controller.Address);
        Assert.IsTrue(await Poll.UntilAsync(async () => JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement
            .GetProperty("certificates")[0].GetProperty("serial").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(90)),
            "the node's report brought the order\n" + string.Join("\n", controller.Log) + "\n" + back.Output);
        Assert.IsEmpty(await FailuresAsync(controller));
    }

    [TestMethod]
    public async Task An_order_right_after_an_apply_waits_for_a_node_that_has_not_converged_yet_instead_of_failing()
    {
        const string domain = "converging.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.85");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path,
            extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-retry", "00:10:00"]);
        using var host = new AgentHost();
        await using var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", "127.0.4.85");
        // Connected, but neither converging nor answering on its port: as a node is while the spec it was just sent is
        // still opening that port (a firewall rule), only for longer.
        Signals.Freeze(agent.Pid);
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, Spec(pebble.Directory, domain));
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

        var certificate = await CertificateOnceAsync(controller, "lastError", "the order was looked at");
        Signals.Thaw(agent.Pid);
        StringAssert.Contains(certificate.GetProperty("lastError").GetString(), "waiting for web1 to apply their revision before ordering");
        Assert.IsEmpty(await FailuresAsync(controller), "a node still converging is not an order failure");
        Assert.IsTrue(await Poll.UntilAsync(async () => JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement
            .GetProperty("certificates")[0].GetProperty("serial").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(90)),
            "the node's report after its converge brought the order\n" + string.Join("\n", controller.Log) + "\n" + agent.Output);
        Assert.IsEmpty(await FailuresAsync(controller));
    }

    [TestMethod]
    public async Task The_breaker_refuses_a_fourth_order_for_the_same_names_within_a_week_unless_forced()
    {
        const string domain = "breaker.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.82");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        using var host = new AgentHost();
        await using var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", "127.0.4.82");
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, Spec(pebble.Directory, domain));
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
        // The apply's own order, then two by hand: three orders for these names.
        Assert.IsTrue(await Poll.UntilAsync(async () => JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement
            .GetProperty("certificates")[0].GetProperty("serial").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(60)), string.Join("\n", controller.Log));
        for (var i = 0; i < 2; i++)
        {
            var renewed = await Ctl(controller, "certs", "renew", "www", "--no-wait");
            Assert.AreEqual(0, renewed.ExitCode, renewed.Output);
        }
        var orders = pebble.Log.Split('\n').Count(l => l.Contains("Added order", StringComparison.Ordinal));

        var refused = await Ctl(controller, "certs", "renew", "www", "--no-wait");

        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.StandardError, $"certificate 'www': 3 orders for {domain} since");
        StringAssert.Contains(refused.StandardError, "the breaker allows 3 in 7d");
        StringAssert.Contains(refused.StandardError, "hawserctl certs renew www --force orders anyway");
        Assert.AreEqual(orders, pebble.Log.Split('\n').Count(l => l.Contains("Added order", StringComparison.Ordinal)), "nothing reached the CA");

        var forced = await Ctl(controller, "certs", "renew", "www", "--no-wait", "--force");
        Assert.AreEqual(0, forced.ExitCode, forced.Output);
        StringAssert.Contains(forced.StandardOutput, "www: serial");
    }
}
