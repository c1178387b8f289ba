using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// The agent writes only where agent.yaml allows on the real file system: symbolic links planted in
/// the host's directories, a format's companion files and the agent's own directories are checked on
/// disk, not in path text, and nothing is written outside.
/// </summary>
[TestClass]
public sealed class FileSystemBoundaryTests
{
    private const string Live = "/etc/letsencrypt/live/www";

    private static string CertificateSpec(string install, string? source = null) => $$"""
        apiVersion: hawser/v1
        nodes:
          web1:
            certificates:
              - name: www
                domains: [www.example.org]
                source: {{source ?? $"{{cert: {Live}/fullchain.pem, key: {Live}/privkey.pem}}"}}
                install:
                  - {{install}}
        """;

    private static void WriteSource(AgentHost host, TestCertificates ca)
    {
        var (chain, key) = ca.IssuePem("www.example.org");
        host.WriteFile($"{Live}/fullchain.pem", chain);
        host.WriteFile($"{Live}/privkey.pem", key);
    }

    [TestMethod]
    [DataRow("/etc/nginx/certs", "{format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/certs/www.key}")]
    [DataRow("/etc/nginx", "{format: combined, path: /etc/nginx/www.pem}")]
    [DataRow("/etc/haproxy", "{format: haproxy, path: /etc/haproxy/site.pem}")]
    public async Task A_directory_link_leading_outside_the_root_is_refused_by_name_and_nothing_lands_there(string linkPath, string install)
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        using var outside = new TempDirectory("hawser-outside-");
        WriteSource(host, ca);
        Directory.CreateDirectory(Path.GetDirectoryName(host.PathOf(linkPath))!);
        File.CreateSymbolicLink(host.PathOf(linkPath), outside.Path);

        var result = await host.ApplyAsync(host.WriteSpec(CertificateSpec(install)), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, $"{linkPath} (a symbolic link to {outside.Path})");
        StringAssert.Contains(result.Output, "outside --root");
        Assert.IsEmpty(Directory.GetFileSystemEntries(outside.Path), "nothing may be written through the link");
    }

    [TestMethod]
    public async Task The_sysctl_file_is_not_written_through_a_linked_sysctl_d()
    {
        using var ns = await NetworkNamespace.CreateAsync("symlink");
        using var host = new AgentHost(ns);
        using var outside = new TempDirectory("hawser-outside-");
        Directory.CreateDirectory(host.PathOf("/etc"));
        File.CreateSymbolicLink(host.PathOf("/etc/sysctl.d"), outside.Path);
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, $"/etc/sysctl.d: it is a symbolic link to {outside.Path}, outside --root");
        Assert.IsFalse(File.Exists(Path.Join(outside.Path, "60-hawser.conf")), result.Output);
    }

    [TestMethod]
    public async Task A_link_inside_the_root_is_refused_when_it_leads_outside_the_allowed_paths_and_followed_when_it_does_not()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        WriteSource(host, ca);
        Directory.CreateDirectory(host.PathOf("/srv/shadow-target"));
        Directory.CreateDirectory(host.PathOf("/etc/ssl/hawser/real"));
        File.CreateSymbolicLink(host.PathOf("/etc/nginx"), "../srv/shadow-target");
        File.CreateSymbolicLink(host.PathOf("/etc/hitch"), "ssl/hawser/real");

        var refused = await host.ApplyAsync(host.WriteSpec(CertificateSpec("{format: combined, path: /etc/nginx/www.pem}")), "web1");
        var followed = await host.ApplyAsync(host.WriteSpec(CertificateSpec("{format: combined, path: /etc/hitch/www.pem}")), "web1");

        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.Output, "/etc/nginx (a symbolic link to ../srv/shadow-target) leads to /srv/shadow-target/www.pem, outside the paths the agent may write");
        Assert.IsEmpty(Directory.GetFileSystemEntries(host.PathOf("/srv/shadow-target")));
        Assert.AreEqual(0, followed.ExitCode, followed.Output);
        Assert.IsTrue(File.Exists(host.PathOf("/etc/ssl/hawser/real/www.pem")), "a link within the allowed paths is followed");
    }

    [TestMethod]
    public async Task Undo_puts_back_a_replaced_symbolic_link_as_a_link()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        WriteSource(host, ca);
        Directory.CreateDirectory(host.PathOf("/etc/nginx/certs"));
        File.CreateSymbolicLink(host.PathOf("/etc/nginx/certs/www.crt"), $"../../letsencrypt/live/www/fullchain.pem");
        File.CreateSymbolicLink(host.PathOf("/etc/nginx/certs/www.key"), $"../../letsencrypt/live/www/privkey.pem");
        var install = "{format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/certs/www.key}";

        var applied = await host.ApplyAsync(host.WriteSpec(CertificateSpec(install)), "web1");
        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        StringAssert.Contains(new FileInfo(host.PathOf("/etc/nginx/certs/www.crt")).LinkTarget!, ".hawser-www-0/current/cert.pem");

        var other = CertificateSpec("{format: combined, path: /etc/hitch/other.pem}").Replace("name: www", "name: other", StringComparison.Ordinal);
        var removed = await host.ApplyAsync(host.WriteSpec(other), "web1");

        Assert.AreEqual(0, removed.ExitCode, removed.Output);
        Assert.AreEqual("../../letsencrypt/live/www/fullchain.pem", new FileInfo(host.PathOf("/etc/nginx/certs/www.crt")).LinkTarget);
        Assert.AreEqual("../../letsencrypt/live/www/privkey.pem", new FileInfo(host.PathOf("/etc/nginx/certs/www.key")).LinkTarget);
    }

    [TestMethod]
    public async Task The_agents_own_directories_are_never_a_target_whatever_allowed_paths_say()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        WriteSource(host, ca);
        var config = host.WriteFile("/etc/hawser/agent.yaml", "allowedPaths: [/etc/, /var/]\n");
        var spec = host.WriteSpec(CertificateSpec("{format: combined, path: /etc/hawser/agent.yaml}"));

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:9:");
        StringAssert.Contains(result.StandardError, "inside the agent's own directories");
        Assert.AreEqual("allowedPaths: [/etc/, /var/]\n", File.ReadAllText(config));
    }

    [TestMethod]
    public async Task A_link_into_the_agents_own_directories_is_refused()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        WriteSource(host, ca);
        host.WriteFile("/etc/hawser/agent.yaml", "allowedPaths: [/etc/nginx/]\n");
        File.CreateSymbolicLink(host.PathOf("/etc/nginx"), "hawser");

        var result = await host.ApplyAsync(host.WriteSpec(CertificateSpec("{format: combined, path: /etc/nginx/agent.yaml}")), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, "leads into the agent's own directories");
        Assert.AreEqual("allowedPaths: [/etc/nginx/]\n", host.ReadFile("/etc/hawser/agent.yaml"));
    }

    [TestMethod]
    [DataRow("/../../../../..{0}/fullchain.pem")]
    [DataRow("/etc/letsencrypt/../../../../..{0}/fullchain.pem")]
    public async Task A_certificate_source_cannot_be_read_from_outside_the_root(string sourceTemplate)
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        using var outside = new TempDirectory("hawser-outside-");
        var (chain, key) = ca.IssuePem("www.example.org");
        File.WriteAllText(Path.Join(outside.Path, "fullchain.pem"), chain);
        File.WriteAllText(Path.Join(outside.Path, "privkey.pem"), key);
        var cert = string.Format(System.Globalization.CultureInfo.InvariantCulture, sourceTemplate, outside.Path);
        var source = $"{{cert: \"{cert}\", key: \"{cert.Replace("fullchain", "privkey", StringComparison.Ordinal)}\"}}";

        var result = await host.ApplyAsync(host.WriteSpec(CertificateSpec("{format: combined, path: /etc/hitch/www.pem}", source)), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, $"{host.Root}{outside.Path}/fullchain.pem");
        Assert.IsFalse(File.Exists(host.PathOf("/etc/hitch/www.pem")), "material from outside --root must not be installed");
    }

    [TestMethod]
    public async Task A_certificate_source_linked_outside_the_root_is_refused()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        using var outside = new TempDirectory("hawser-outside-");
        var (chain, key) = ca.IssuePem("www.example.org");
        File.WriteAllText(Path.Join(outside.Path, "fullchain.pem"), chain);
        host.WriteFile($"{Live}/privkey.pem", key);
        File.CreateSymbolicLink(host.PathOf($"{Live}/fullchain.pem"), Path.Join(outside.Path, "fullchain.pem"));

        var result = await host.ApplyAsync(host.WriteSpec(CertificateSpec("{format: combined, path: /etc/hitch/www.pem}")), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, $"refusing to read {Live}/fullchain.pem: it is a symbolic link to {outside.Path}/fullchain.pem, outside --root");
        Assert.IsFalse(File.Exists(host.PathOf("/etc/hitch/www.pem")));
    }

    // Swaps two paths with renameat2(RENAME_EXCHANGE) as fast as it can until the stop file exists or the bound is
    // reached; prints how many swaps it made.
    private const string Swapper = """
        import ctypes, os, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        a, b, stop = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
        swaps, deadline = 0, time.monotonic() + 120
        print("swapping", flush=True)
        while swaps < 5_000_000 and time.monotonic() < deadline and not os.path.exists(stop):
            if libc.renameat2(-100, a, -100, b, 2) == 0:
                swaps += 1
        print(swaps, flush=True)
        """;

    [TestMethod]
    [DataRow("/etc/sysctl.d", "swaprace", DisplayName = "the directory of a file the spec manages")]
    [DataRow("/var/lib/hawser", "ownrace", DisplayName = "the agent's own directory (its lock, state and journal)")]
    public async Task A_directory_swapped_for_a_link_while_applies_run_never_gets_a_write_outside_the_root(string directory, string namespaceName)
    {
        using var ns = await NetworkNamespace.CreateAsync(namespaceName);
        using var host = new AgentHost(ns);
        using var outside = new TempDirectory();
        Directory.CreateDirectory(host.PathOf(directory));
        var link = Path.GetDirectoryName(directory) + "/swap";
        File.CreateSymbolicLink(host.PathOf(link), outside.Path);
        var specs = new[] { "600", "700" }.Select((value, i) => host.WriteSpec($$"""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "{{value}}"}
            """, $"spec{i}.yaml")).ToArray();
        var stop = Path.Join(host.Root, "stop");
        using var swapper = ExternalProcess.Start("python3", ["-c", Swapper, host.PathOf(directory), host.PathOf(link), stop]);
        await ExternalProcess.WaitForLineAsync(swapper, "swapping", TimeSpan.FromSeconds(60));

        var results = new List<ProcessResult>();
        for (var round = 0; round < 24; round++)
        {
            // Each round changes the sysctl, so each writes its file, the state and the journal while the swaps run.
            results.Add(await host.ApplyAsync(specs[round % 2], "web1"));
        }
        File.WriteAllText(stop, "");
        var swaps = (await swapper.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        await swapper.WaitForExitAsync();

        var landed = Directory.EnumerateFileSystemEntries(outside.Path, "*", SearchOption.AllDirectories).ToList();
        Console.WriteLine($"{swaps} swaps; {results.Count(r => r.ExitCode == 0)} applies converged, {results.Count(r => r.ExitCode != 0)} refused");
        Assert.IsEmpty(landed, $"written outside --root: {string.Join(", ", landed)}");
        Assert.IsGreaterThan(0, long.Parse(swaps, System.Globalization.CultureInfo.InvariantCulture), "the swaps ran");
        // The swaps overlapped the applies: some found a link where the directory was, and said so.
        Assert.IsTrue(results.Any(r => r.ExitCode != 0 && r.Output.Contains(directory, StringComparison.Ordinal)),
            string.Join("\n---\n", results.Select(r => r.Output)));
        Assert.IsTrue(results.All(r => !r.Output.Contains("   at ", StringComparison.Ordinal)), "no stack trace");
    }

    [TestMethod]
    public async Task Stale_temp_file_clean_up_never_follows_a_planted_link_outside_the_root()
    {
        using var ns = await NetworkNamespace.CreateAsync("stalelink");
        using var host = new AgentHost(ns);
        using var outside = new TempDirectory();
        var victim = Path.Join(outside.Path, "v-1", ".victim.hawser-0123456789ab");
        Directory.CreateDirectory(Path.GetDirectoryName(victim)!);
        File.WriteAllText(victim, "not the agent's");
        Directory.CreateDirectory(host.PathOf("/etc"));
        // Named like a certificate pair's store, in /etc (the directory of ndppd.conf, which the clean-up visits).
        File.CreateSymbolicLink(host.PathOf("/etc/.hawser-x"), outside.Path);
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "600"}
            """);

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(0, result.ExitCode, result.Output);
        Assert.IsTrue(File.Exists(victim), "a file outside --root was deleted through a planted link");
    }
}
