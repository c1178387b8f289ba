using System.Security.Cryptography;

namespace Hawser.TestSupport;

/// <summary>
/// A real network namespace (<c>ip netns add</c>) standing in for one host: its own /proc/sys/net,
/// interfaces, neighbour table and firewall. Removed on dispose, also when the test failed.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(string name) => Name = name;

    /// <summary>The namespace's name, for <c>ip netns exec</c>.</summary>
    public string Name { get; }

    /// <summary>Creates a namespace with loopback up.</summary>
    public static async Task<NetworkNamespace> CreateAsync(string label)
    {
        var ns = new NetworkNamespace($"hw-{label}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");
        await Run("ip", "netns", "add", ns.Name);
        await ns.ExecAsync("ip", "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>
    /// Joins two namespaces with a veth pair, each end with an address from the test range
    /// (fd68:6177::/64), so nothing is ever routed off the machine.
    /// </summary>
    public static async Task LinkAsync(NetworkNamespace a, string aIface, string aAddress, NetworkNamespace b, string bIface, string bAddress)
    {
        await Run("ip", "link", "add", aIface, "netns", a.Name, "type", "veth", "peer", "name", bIface, "netns", b.Name);
        foreach (var (ns, iface, address) in new[] { (a, aIface, aAddress), (b, bIface, bAddress) })
        {
            // No DAD delay: the address is usable as soon as the link is up.
            await ns.ExecAsync("sysctl", "-qw", $"net.ipv6.conf.{iface}.accept_dad=0");
            await ns.ExecAsync("ip", "-6", "addr", "add", address, "dev", iface, "nodad");
            await ns.ExecAsync("ip", "link", "set", iface, "up");
        }
    }

    /// <summary>
    /// Joins this namespace to the test runner's own (where Pebble and the controller of a fleet test run)
    /// with a veth: <paramref name="rootAddress"/> on the runner's end, <paramref name="addresses"/> on this
    /// one's, all IPv4 CIDRs from the test range (10.68.0.0/24). The runner's end goes with the namespace.
    /// </summary>
    public async Task LinkToRunnerAsync(string rootAddress, params string[] addresses)
    {
        var rootIface = "hw" + Name[^6..];
        await Run("ip", "link", "add", rootIface, "type", "veth", "peer", "name", "eth0", "netns", Name);
        await Run("ip", "addr", "add", rootAddress, "dev", rootIface);
        await Run("ip", "link", "set", rootIface, "up");
        foreach (var address in addresses)
        {
            await ExecAsync("ip", "addr", "add", address, "dev", "eth0");
        }
        await ExecAsync("ip", "link", "set", "eth0", "up");
    }

    /// <summary>Runs a program inside the namespace; a non-zero exit fails the test with its output.</summary>
    public async Task<ProcessResult> ExecAsync(params string[] argv)
    {
        var result = await TryExecAsync(argv);
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"ip netns exec {Name} {string.Join(' ', argv)} failed: {result.Output}");
        }
        return result;
    }

    /// <summary>
    /// Runs a program inside the namespace and returns however it ended. nsenter rather than
    /// <c>ip netns exec</c>, which remounts /sys and so hides the cgroup mounts dockerd needs.
    /// </summary>
    public Task<ProcessResult> TryExecAsync(params string[] argv) =>
        ExternalProcess.RunAsync("nsenter", [$"--net=/run/netns/{Name}", .. argv], TimeSpan.FromSeconds(180));

    /// <summary>A kernel parameter as this namespace sees it.</summary>
    public async Task<string> ReadSysctlAsync(string key) =>
        (await ExecAsync("cat", "/proc/sys/" + key.Replace('.', '/'))).StandardOutput.Trim();

    private static async Task Run(params string[] argv)
    {
        var result = await ExternalProcess.RunAsync(argv[0], argv[1..], TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"{string.Join(' ', argv)} failed: {result.Output}");
        }
    }

    /// <summary>The processes in the namespace.</summary>
    private HashSet<int> Pids() => [.. ExternalProcess.RunAsync("ip", ["netns", "pids", Name], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult()
        .StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(pid => int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Kills whatever still runs in the namespace, then deletes it.</summary>
    public void Dispose()
    {
        // Again until none is left: a process forked while the first were killed (nginx starting a worker for a reload that
        // was on its way) would otherwise outlive the test, keep the namespace and its veth alive, and answer the next run.
        for (var round = 0; round < 20; round++)
        {
            var pids = Pids();
            if (pids.Count == 0)
            {
                break;
            }
            foreach (var pid in pids)
            {
                Signals.Kill(pid);
            }
            // The killed are gone once the listing no longer has them; a fork that was in flight shows in the next round.
            Poll.UntilAsync(() => !Pids().Overlaps(pids), TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        }
        ExternalProcess.RunAsync("ip", ["netns", "del", Name], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
    }
}
