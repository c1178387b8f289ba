using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using Hawser.Agent.HostServices;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Agent.Fleet;

/// <summary>What the agent tells the controller about its host in the hello.</summary>
public static class HostFactsReader
{
    /// <summary>Kernel, distribution, init system, interfaces, architecture and host name.</summary>
    public static HostFacts Read(HostPaths paths)
    {
        var facts = new HostFacts
        {
            Kernel = ReadOr("/proc/sys/kernel/osrelease"),
            Distro = OsRelease(paths),
            InitSystem = InitSystem.Detect(),
            Architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            Hostname = Environment.MachineName,
        };
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            var entry = new Shared.Protocol.V1.NetworkInterface { Name = nic.Name, Up = nic.OperationalStatus == OperationalStatus.Up };
            entry.Addresses.Add(nic.GetIPProperties().UnicastAddresses.Select(a => $"{a.Address}/{a.PrefixLength}"));
            facts.Interfaces.Add(entry);
        }
        return facts;
    }

    private static string OsRelease(HostPaths paths)
    {
        var text = ReadOr(paths.Map("/etc/os-release"));
        if (text.Length == 0)
        {
            text = ReadOr("/etc/os-release");
        }
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
        return line?["PRETTY_NAME=".Length..].Trim('"') ?? string.Empty;
    }

    private static string ReadOr(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
