using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>Certificate files in every format, read back with X509Certificate2, with reloads only on change.</summary>
[TestClass]
public sealed class CertificateTests
{
    private const string Live = "/etc/letsencrypt/live/opam.example.org";

    private static string Spec(string reloadLog) => $$"""
        apiVersion: hawser/v1
        nodes:
          web1:
            certificates:
              - name: www
                domains: [opam.example.org, www.opam.example.org]
                source: {cert: {{Live}}/fullchain.pem, key: {{Live}}/privkey.pem}
                install:
                  - {format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/private/www.key}
                  - {format: combined, path: /etc/hitch/www.pem}
                  - {format: haproxy, path: /etc/haproxy/certs/site.pem, owner: haproxy, group: "33"}
                reload:
                  command: [/bin/sh, -c, "echo reloaded >> {{reloadLog}}"]
        """;

    private static void AllowShell(AgentHost host)
    {
        host.WriteFile("/etc/hawser/agent.yaml", "allowedCommands: [/bin/sh]\n");
        // The host's accounts, under the root like every host file.
        host.WriteFile("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nhaproxy:x:108:113::/var/lib/haproxy:/usr/sbin/nologin\n");
        host.WriteFile("/etc/group", "root:x:0:\nwww-data:x:33:\n");
    }

    private static void WriteSource(AgentHost host, (string Chain, string Key) pair)
    {
        host.WriteFile($"{Live}/fullchain.pem", pair.Chain);
        host.WriteFile($"{Live}/privkey.pem", pair.Key);
    }

    [TestMethod]
    public async Task Every_format_is_installed_readable_with_modes_and_reloaded_only_when_it_changed()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        AllowShell(host);
        var first = ca.IssuePem("opam.example.org", "www.opam.example.org");
        WriteSource(host, first);
        var log = Path.Join(host.Root, "reloads.log");
        var spec = host.WriteSpec(Spec(log));

        var apply = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        var leaf = X509Certificate2.CreateFromPem(first.Chain);
        using (var nginx = X509Certificate2.CreateFromPemFile(host.PathOf("/etc/nginx/certs/www.crt"), host.PathOf("/etc/nginx/private/www.key")))
        using (var hitch = X509Certificate2.CreateFromPemFile(host.PathOf("/etc/hitch/www.pem")))
        using (var haproxy = X509Certificate2.CreateFromPemFile(host.PathOf("/etc/haproxy/certs/site.pem"), host.PathOf("/etc/haproxy/certs/site.pem.key")))
        {
            foreach (var installed in new[] { nginx, hitch, haproxy })
            {
                Assert.AreEqual(leaf.Thumbprint, installed.Thumbprint);
                Assert.IsTrue(installed.HasPrivateKey);
            }
        }
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(host.PathOf("/etc/nginx/certs/www.crt"));
        Assert.HasCount(2, chain);
        Assert.AreEqual(leaf.Thumbprint, chain[0].Thumbprint, "nginx wants the leaf first");
        Assert.AreEqual(ca.Ca.Thumbprint, chain[1].Thumbprint);
        Assert.AreEqual(Mode("644"), File.GetUnixFileMode(host.PathOf("/etc/nginx/certs/www.crt")));
        Assert.AreEqual(Mode("600"), File.GetUnixFileMode(host.PathOf("/etc/nginx/private/www.key")));
        Assert.AreEqual(Mode("600"), File.GetUnixFileMode(host.PathOf("/etc/hitch/www.pem")));
        Assert.AreEqual(Mode("600"), File.GetUnixFileMode(host.PathOf("/etc/haproxy/certs/site.pem.key")));
        Assert.AreEqual("reloaded\n", File.ReadAllText(log));
        var owner = await ExternalProcess.RunAsync("stat", ["-L", "-c", "%u:%g", host.PathOf("/etc/haproxy/certs/site.pem.key")]);
        Assert.AreEqual("108:33", owner.StandardOutput.Trim(), "owner by name from the host's passwd, group by id");

        var before = host.Snapshot();
        var again = await host.ApplyAsync(spec, "web1");
        Assert.AreEqual(0, again.ExitCode, again.Output);
        Assert.AreEqual("reloaded\n", File.ReadAllText(log), "no reload when nothing changed");
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList(), "an in-sync apply writes nothing");

        var renewed = ca.IssuePem("opam.example.org", "www.opam.example.org");
        WriteSource(host, renewed);
        var renew = await host.ApplyAsync(spec, "web1");
        Assert.AreEqual(0, renew.ExitCode, renew.Output);
        Assert.AreEqual("reloaded\nreloaded\n", File.ReadAllText(log));
        using var hitchRenewed = X509Certificate2.CreateFromPemFile(host.PathOf("/etc/hitch/www.pem"));
        Assert.AreEqual(X509Certificate2.CreateFromPem(renewed.Chain).Thumbprint, hitchRenewed.Thumbprint);

        // The renewal's reload is done: the next apply has nothing left to do (a stale "pending" once reloaded twice).
        var afterRenew = await host.ApplyAsync(spec, "web1");
        Assert.AreEqual(0, afterRenew.ExitCode, afterRenew.Output);
        Assert.AreEqual("reloaded\nreloaded\n", File.ReadAllText(log), "one reload per new certificate");
    }

    [TestMethod]
    public async Task A_failed_reload_keeps_the_new_files_and_is_retried_on_the_next_converge()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        AllowShell(host);
        WriteSource(host, ca.IssuePem("opam.example.org", "www.opam.example.org"));
        var gate = Path.Join(host.Root, "proxy-is-up");
        var log = Path.Join(host.Root, "reloads.log");
        var spec = host.WriteSpec(Spec(log).Replace("\"echo reloaded >>", $"\"test -f {gate} && echo reloaded >>", StringComparison.Ordinal));

        var failed = await host.ApplyAsync(spec, "web1");
        File.WriteAllText(gate, "");
        var retried = await host.ApplyAsync(spec, "web1");
        var settled = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, failed.ExitCode, failed.Output);
        StringAssert.Contains(failed.StandardOutput, "the files are installed, but the reload failed");
        StringAssert.Contains(failed.StandardOutput, "exited 1");
        Assert.AreEqual(0, retried.ExitCode, retried.Output);
        StringAssert.Contains(retried.StandardOutput, "reload: pending (last attempt failed) -> done");
        Assert.AreEqual("reloaded\n", File.ReadAllText(log));
        Assert.AreEqual(0, settled.ExitCode, settled.Output);
        Assert.AreEqual("reloaded\n", File.ReadAllText(log));
    }

    [TestMethod]
    public async Task A_kill_during_installs_leaves_every_target_with_a_matching_pair()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        AllowShell(host);
        (string Chain, string Key)[] pairs = [ca.IssuePem("opam.example.org"), ca.IssuePem("opam.example.org")];
        WriteSource(host, pairs[0]);
        var spec = host.WriteSpec(Spec(Path.Join(host.Root, "reloads.log")));
        var initial = await host.ApplyAsync(spec, "web1");
        Assert.AreEqual(0, initial.ExitCode, initial.Output);
        var thumbprints = pairs.Select(p => X509Certificate2.CreateFromPem(p.Chain).Thumbprint).ToArray();
        var seen = new Dictionary<string, int>();
        var run = () => HawserProcesses.Start("hawser-agent", ["apply", "-f", spec, "--node", "web1", "--root", host.Root]);
        var runLength = await KillWindow.MeasureAsync(run, "hawser-agent");
        var random = new Random();
        int rounds = 0, midInstall = 0;

        // Until at least three kills landed mid-install (the reload still pending: files moved, reload not done), 24 rounds at least.
        var state = host.PathOf("/var/lib/hawser/state.json");
        for (var round = 1; round <= 80 && (round <= 24 || midInstall < 3); round++, rounds++)
        {
            WriteSource(host, pairs[round % 2]);
            var stateBefore = File.GetLastWriteTimeUtc(state);
            using var agent = run();
            await KillWindow.WaitUntilLoadedAsync(agent, "hawser-agent");
            if (round % 2 == 0)
            {
                // Anywhere in the run.
                await Task.Delay(random.Next(0, runLength));
            }
            else
            {
                // Just after the agent records the pending reload, which it does right before it moves the first file.
                await KillWindow.WaitForWriteAsync(agent, state, stateBefore);
                await Task.Delay(random.Next(0, 15));
            }
            var killed = !agent.HasExited;
            agent.Kill();
            await agent.WaitForExitAsync();
            if (killed && File.Exists(state)
                && System.Text.Json.JsonDocument.Parse(File.ReadAllText(state)).RootElement
                    .GetProperty("pendingReloads").EnumerateArray().Any(r => r.GetString() == "www"))
            {
                midInstall++;
            }

            foreach (var (cert, key) in new[]
            {
                ("/etc/nginx/certs/www.crt", "/etc/nginx/private/www.key"),
                ("/etc/hitch/www.pem", "/etc/hitch/www.pem"),
                ("/etc/haproxy/certs/site.pem", "/etc/haproxy/certs/site.pem.key"),
            })
            {
                X509Certificate2 installed;
                try
                {
                    installed = X509Certificate2.CreateFromPemFile(host.PathOf(cert), host.PathOf(key));
                }
                catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException)
                {
                    throw new AssertFailedException($"round {round}: {cert} + {key} do not form a pair after kill -9: {ex.Message}", ex);
                }
                using (installed)
                {
                    CollectionAssert.Contains(thumbprints, installed.Thumbprint, $"round {round}: {cert}");
                    var which = installed.Thumbprint == thumbprints[round % 2] ? "new" : "old";
                    seen[which] = seen.GetValueOrDefault(which) + 1;
                }
            }
        }
        Assert.IsGreaterThanOrEqualTo(1, midInstall, $"in {rounds} rounds no kill landed between the first file moved and the reload; the test proved nothing");
        Console.WriteLine($"{rounds} kills, {midInstall} mid-install; after kill -9: {string.Join(", ", seen.Select(p => $"{p.Value} targets {p.Key}"))}");
        var settle = await host.ApplyAsync(spec, "web1");
        Assert.AreEqual(0, settle.ExitCode, settle.Output);
        using var final = X509Certificate2.CreateFromPemFile(host.PathOf("/etc/nginx/certs/www.crt"), host.PathOf("/etc/nginx/private/www.key"));
        Assert.AreEqual(thumbprints[rounds % 2], final.Thumbprint, "the last round's source is what is installed");
    }

    [TestMethod]
    public async Task Removing_the_certificate_puts_back_the_files_it_replaced_with_their_modes()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        AllowShell(host);
        WriteSource(host, ca.IssuePem("opam.example.org", "www.opam.example.org"));
        // What the host had before: hand-copied files, the key private, a config file group-readable.
        host.WriteFile("/etc/nginx/certs/www.crt", "old chain\n");
        File.SetUnixFileMode(host.WriteFile("/etc/nginx/private/www.key", "old key\n"), Mode("600"));
        File.SetUnixFileMode(host.WriteFile("/etc/default/ufw", "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n"), Mode("640"));
        var with = await host.ApplyAsync(host.WriteSpec(Spec(Path.Join(host.Root, "reloads.log"))
            .Replace("web1:\n", "web1:\n    ufw: {forwardPolicy: ACCEPT}\n", StringComparison.Ordinal)), "web1");
        Assert.AreEqual(0, with.ExitCode, with.Output);
        Assert.AreEqual(Mode("640"), File.GetUnixFileMode(host.PathOf("/etc/default/ufw")), "an existing config file keeps its mode");

        // This host runs in the test's own namespace: its kernel values come from a temp /proc/sys.
        host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        var without = await host.ApplyAsync(host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "7200"}
            """, "without.yaml"), "web1", "--proc-sys", host.PathOf("/proc-sys"));

        Assert.AreEqual(0, without.ExitCode, without.Output);
        StringAssert.Contains(without.StandardOutput, "changed       restore:file:/etc/nginx/private/www.key");
        Assert.AreEqual("old key\n", host.ReadFile("/etc/nginx/private/www.key"));
        Assert.IsNull(new FileInfo(host.PathOf("/etc/nginx/private/www.key")).LinkTarget, "a plain file again");
        Assert.AreEqual(Mode("600"), File.GetUnixFileMode(host.PathOf("/etc/nginx/private/www.key")), "a restored key keeps its old mode");
        Assert.AreEqual("old chain\n", host.ReadFile("/etc/nginx/certs/www.crt"));
        Assert.IsFalse(File.Exists(host.PathOf("/etc/hitch/www.pem")), "the agent created it, so undo removes it");
        Assert.AreEqual("IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n", host.ReadFile("/etc/default/ufw"));
        Assert.AreEqual(Mode("640"), File.GetUnixFileMode(host.PathOf("/etc/default/ufw")));
    }

    private static UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);
}
