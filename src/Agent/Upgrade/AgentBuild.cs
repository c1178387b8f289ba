using System.Reflection;
using System.Runtime.InteropServices;

namespace Hawser.Agent.Upgrade;

/// <summary>What this agent binary is: its release version and the architecture releases are built for.</summary>
public static class AgentBuild
{
    /// <summary>The release version (build-release.sh's VERSION, e.g. 1.4.0-rc1); a development build's is the project's.</summary>
    public static string Version { get; } = (typeof(AgentBuild).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(AgentBuild).Assembly.GetName().Version?.ToString(3) ?? "0.0.0").Split('+')[0];

    /// <summary>x64 or arm64 (what build-release.sh's --arch and a release's manifest say), or .NET's name for another.</summary>
    public static string Architecture { get; } = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
}
