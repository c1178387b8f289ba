using System.Text.Json;
using Grpc.Core;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Operators as a small team would use them, through hawserctl against a real controller and agents: an admin adds people,
/// each enrolls with a key made on their own machine, a scoped operator changes its own nodes and is refused (naming the
/// node) beyond them, a viewer only looks, a rotated certificate and a revoked operator are refused, and the event log
/// says who did what.
/// </summary>
[TestClass]
public sealed class OperatorTests
{
    private static string Spec(string web, string db) =>
        "apiVersion: hawser/v1\nnodes:\n  web1: {labels: {role: web}}\n  db1: {labels: {role: db}}\nprofiles:\n"
        + $"  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{web}\"}}\n"
        + $"  db:\n    selector: {{role: db}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{db}\"}}\n";

    [TestMethod]
    public async Task A_scoped_operator_changes_its_own_nodes_only_a_viewer_only_looks_and_rotated_or_revoked_credentials_are_refused()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var secret = await controller.TokenAsync(2);
        using var webHost = new AgentHost();
        using var dbHost = new AgentHost();
        webHost.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        dbHost.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        await using var web1 = AgentProcess.Start(webHost, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash, "--proc-sys", webHost.PathOf("/proc-sys"));
        await using var db1 = AgentProcess.Start(dbHost, "db1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash, "--proc-sys", dbHost.PathOf("/proc-sys"));
        await web1.WaitForAsync("connected to");
        await db1.WaitForAsync("connected to");
        var first = await Admin(controller, "apply", "-f", Write(data.Path, "v1.yaml", Spec("600", "700")), "-m", "first");
        Assert.AreEqual(0, first.ExitCode, first.Output);

        // Each operator's machine: its own directory.
        using var home = new TempDirectory();
        var sam = await OperatorCredential.AddAsync(controller.CtlConfig, controller.Address, home.Path, "sam", "operator", "role=web");
        var vera = await OperatorCredential.AddAsync(controller.CtlConfig, controller.Address, home.Path, "vera", "viewer");
        Assert.AreEqual("sam: operator of nodes with role=web", (await sam.CtlAsync("whoami")).StandardOutput.Split(" (certificate")[0]);
        StringAssert.StartsWith((await vera.CtlAsync("whoami")).StandardOutput, "vera: viewer of all nodes");
        // The key was made where the config is, and never sent: the controller holds no copy of it.
        var samKey = File.ReadAllLines(sam.Config).Single(l => l.StartsWith("key: ", StringComparison.Ordinal))[5..];
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(samKey));
        var keyText = File.ReadAllText(samKey);
        Assert.IsFalse(Directory.EnumerateFiles(controller.DataDirectory, "*", SearchOption.AllDirectories).Any(f => !f.EndsWith(".lock", StringComparison.Ordinal) && File.ReadAllText(f).Contains(keyText, StringComparison.Ordinal)),
            "no file of the controller holds the operator's key");

        // Sam's view is its own nodes.
        var status = await sam.CtlAsync("status", "-o", "json");
        Assert.AreEqual(0, status.ExitCode, status.Output);
        CollectionAssert.AreEqual(new[] { "web1" }, JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()).ToArray());
        Assert.AreNotEqual(0, (await sam.CtlAsync("status", "db1")).ExitCode, "a node outside the scope is not shown");

        // An apply that changes db1 is refused naming it, and stores nothing; one that changes web1 only goes through.
        var v2 = Write(data.Path, "v2.yaml", Spec("610", "710"));
        var diff = await sam.CtlAsync("diff", "-f", v2);
        StringAssert.Contains(diff.Output, "web1");
        Assert.DoesNotContain("db1", diff.Output, "a scoped diff asks and shows only the operator's own nodes");
        var beyond = await sam.CtlAsync("apply", "-f", v2, "--no-wait");
        Assert.AreEqual(1, beyond.ExitCode, beyond.Output);
        StringAssert.Contains(beyond.StandardError, "operator 'sam' is scoped to role=web, but this apply changes node db1 outside it; nothing was stored");
        var relabel = await sam.CtlAsync("apply", "-f", Write(data.Path, "v2b.yaml", Spec("600", "700").Replace("db1: {labels: {role: db}}", "db1: {labels: {role: web}}", StringComparison.Ordinal)), "--no-wait");
        Assert.AreEqual(1, relabel.ExitCode, "relabelling a node into the scope is a change to a node outside it: " + relabel.Output);
        StringAssert.Contains(relabel.StandardError, "node db1 outside it");
        // The ACME account serves every node: a scoped operator may not point the fleet at another CA.
        var acme = await sam.CtlAsync("apply", "-f", Write(data.Path, "v2c.yaml", Spec("600", "700") + "acme:\n  directory: https://acme.example/dir\n"), "--no-wait");
        Assert.AreEqual(1, acme.ExitCode, acme.Output);
        StringAssert.Contains(acme.StandardError, "this apply changes the spec's acme settings, which serve every node");
        var revisions = JsonDocument.Parse((await Admin(controller, "revisions", "-o", "json")).StandardOutput).RootElement.GetProperty("revisions");
        Assert.AreEqual(1, revisions.GetArrayLength(), "the refused applies stored no revision");
        var own = await sam.CtlAsync("apply", "-f", Write(data.Path, "v3.yaml", Spec("620", "700")), "-m", "web keepalive");
        Assert.AreEqual(0, own.ExitCode, own.Output);
        Assert.AreEqual("620", File.ReadAllText(webHost.PathOf("/proc-sys/net/ipv4/tcp_keepalive_time")).Trim());
        Assert.AreEqual("700", File.ReadAllText(dbHost.PathOf("/proc-sys/net/ipv4/tcp_keepalive_time")).Trim());

        // A revision stored by the admin that changes db1 (stored only, pushed nowhere): sam may not roll it out, neither with
        // hawserctl nor from the web UI, and each refusal names db1.
        var stored = await Admin(controller, "apply", "-f", Write(data.Path, "v5.yaml", Spec("620", "790")), "--store-only");
        Assert.AreEqual(0, stored.ExitCode, stored.Output);
        var rollout = await sam.CtlAsync("rollout", "start", "3");
        Assert.AreEqual(1, rollout.ExitCode, rollout.Output);
        StringAssert.Contains(rollout.StandardError, "operator 'sam' is scoped to role=web, but a rollout to revision 3 changes node db1 outside it");
        using (var samCertificate = sam.Certificate())
        using (var browser = await WebSignInClient.SignInAsync(controller, samCertificate, System.Net.IPAddress.Parse("127.0.0.21")))
        {
            Assert.IsNotNull(browser.Csrf, browser.Refusal);
            using var fromWeb = await browser.PostJsonAsync("/api/v1/rollouts", "{\"revision\":3}");
            Assert.AreEqual(System.Net.HttpStatusCode.Forbidden, fromWeb.StatusCode);
            StringAssert.Contains(await fromWeb.Content.ReadAsStringAsync(), "a rollout to revision 3 changes node db1 outside it");
            using var nodes = await browser.Client.GetAsync("/api/v1/nodes");
            CollectionAssert.AreEqual(new[] { "web1" }, JsonDocument.Parse(await nodes.Content.ReadAsStringAsync()).RootElement.EnumerateArray()
                .Select(n => n.GetProperty("name").GetString()).ToArray(), "the web UI shows sam its own nodes");
        }
        Assert.AreEqual("700", File.ReadAllText(dbHost.PathOf("/proc-sys/net/ipv4/tcp_keepalive_time")).Trim(), "db1 was not touched");

        // The admin may; sam then sees that rollout with its own nodes only, in hawserctl and in the web UI.
        var started = await Admin(controller, "rollout", "start", "3", "-o", "json");
        Assert.AreEqual(0, started.ExitCode, started.Output);
        var id = JsonDocument.Parse(started.StandardOutput).RootElement.GetProperty("id").GetUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var asAdmin = await Admin(controller, "rollout", "status", id, "-o", "json");
        CollectionAssert.Contains(RolloutNodes(asAdmin.StandardOutput), "db1", asAdmin.Output);
        var asSam = await sam.CtlAsync("rollout", "status", id, "-o", "json");
        Assert.AreEqual(0, asSam.ExitCode, asSam.Output);
        CollectionAssert.DoesNotContain(RolloutNodes(asSam.StandardOutput), "db1", asSam.Output);
        using (var samCertificate = sam.Certificate())
        using (var browser = await WebSignInClient.SignInAsync(controller, samCertificate, System.Net.IPAddress.Parse("127.0.0.22")))
        {
            var rollouts = await browser.Client.GetStringAsync("/api/v1/rollouts");
            Assert.DoesNotContain("db1", rollouts, "the web UI's rollouts show sam its own nodes");
            StringAssert.Contains(await browser.Client.GetStringAsync($"/api/v1/rollouts/{id}"), $"\"id\":{id}");
        }

        // A viewer looks and is refused a change, by role.
        var viewed = await vera.CtlAsync("status", "-o", "json");
        Assert.AreEqual(2, JsonDocument.Parse(viewed.StandardOutput).RootElement.GetProperty("nodes").GetArrayLength(), viewed.Output);
        var refused = await vera.CtlAsync("apply", "-f", Write(data.Path, "v4.yaml", Spec("630", "730")), "--no-wait");
        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.StandardError, "operator 'vera' is a viewer: ApplySpec needs the operator or admin role");
        var tokenRefused = await sam.CtlAsync("token", "create");
        StringAssert.Contains(tokenRefused.StandardError, "operator 'sam' is a operator: CreateJoinToken needs the admin role");

        // Who did what: the revision's author and the events by actor.
        var events = await Admin(controller, "events", "--actor", "sam", "--limit", "1000", "-o", "json");
        var samEvents = JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").EnumerateArray().ToList();
        Assert.IsTrue(samEvents.All(e => e.GetProperty("actor").GetString() == "sam"));
        Assert.IsTrue(samEvents.Any(e => e.GetProperty("kind").GetString() == "spec.pushed"), events.StandardOutput);
        Assert.IsTrue(samEvents.Any(e => e.GetProperty("kind").GetString() == "rpc.refused" && e.GetProperty("details").EnumerateArray().Any(d => d.GetString()!.Contains("db1", StringComparison.Ordinal))), events.StandardOutput);
        Assert.IsTrue(samEvents.Any(e => e.GetProperty("kind").GetString() == "operator.enrolled"), events.StandardOutput);
        var history = JsonDocument.Parse((await Admin(controller, "revisions", "-o", "json")).StandardOutput).RootElement.GetProperty("revisions").EnumerateArray().ToList();
        CollectionAssert.AreEquivalent(new[] { "admin", "sam" }, history.Select(r => r.GetProperty("author").GetString()).Distinct().ToArray());

        // Rotation: a new key made here, the config switched to it, the old certificate refused.
        using var old = sam.Certificate();
        var rotated = await sam.CtlAsync("operator", "rotate");
        Assert.AreEqual(0, rotated.ExitCode, rotated.Output);
        Assert.IsFalse(File.Exists(samKey), "the replaced key is removed");
        Assert.AreEqual(0, (await sam.CtlAsync("whoami")).ExitCode);
        using (var channel = controller.Channel(admin: false, clientCertificate: old))
        {
            var failure = await Assert.ThrowsAsync<RpcException>(async () => await new ControlService.ControlServiceClient(channel).WhoAmIAsync(new WhoAmIRequest()));
            Assert.AreEqual(StatusCode.PermissionDenied, failure.StatusCode);
            StringAssert.Contains(failure.Status.Detail, "was revoked");
        }

        // Revocation: the next call is refused, and the operator list says so.
        Assert.AreEqual(0, (await Admin(controller, "operator", "revoke", "sam")).ExitCode);
        var after = await sam.CtlAsync("whoami");
        Assert.AreEqual(1, after.ExitCode, after.Output);
        StringAssert.Contains(after.StandardError, "operator 'sam' was revoked at");
        var list = JsonDocument.Parse((await Admin(controller, "operator", "list", "-o", "json")).StandardOutput).RootElement.EnumerateArray()
            .ToDictionary(o => o.GetProperty("name").GetString()!, o => o.GetProperty("state").GetString());
        CollectionAssert.AreEquivalent(new Dictionary<string, string?> { ["admin"] = "live", ["sam"] = "revoked", ["vera"] = "live" }, list);
        var self = await Admin(controller, "operator", "revoke", "admin");
        Assert.AreEqual(1, self.ExitCode, "an admin cannot lock itself out: " + self.Output);
    }

    private static string[] RolloutNodes(string json) =>
        [.. JsonDocument.Parse(json).RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("node").GetString()!)];

    private static Task<ProcessResult> Admin(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static string Write(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
