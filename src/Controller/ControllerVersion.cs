using Hawser.Shared.Protocol;

namespace Hawser.Controller;

/// <summary>This controller's version, and what it makes of an agent's (<see cref="VersionSkew"/>).</summary>
internal static class ControllerVersion
{
    /// <summary>The assembly's version (the release's, set by build-release.sh).</summary>
    public static readonly Version Current = typeof(ControllerVersion).Assembly.GetName().Version is { } v ? new Version(v.Major, v.Minor, Math.Max(0, v.Build)) : new Version(0, 0, 0);

    /// <summary><see cref="Current"/> as <c>1.2.3</c>.</summary>
    public static string Text => Current.ToString(3);

    /// <summary>Why this controller refuses an agent that says it is <paramref name="agentVersion"/>; null when it takes it, or when the node never said (not yet connected).</summary>
    public static string? ProblemWith(string agentVersion) => agentVersion.Length == 0 ? null : VersionSkew.Problem(agentVersion, Current);

    /// <summary>Why this controller refuses a hello saying <paramref name="agentVersion"/>, or null: a hello without a version is refused too (every Hawser agent says one).</summary>
    public static string? HelloProblem(string agentVersion) => agentVersion.Length == 0
        ? $"the agent sent no version; this controller takes Hawser agents of {VersionSkew.Supported(Current)} only"
        : ProblemWith(agentVersion);
}
