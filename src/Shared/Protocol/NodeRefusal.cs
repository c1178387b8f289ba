namespace Hawser.Shared.Protocol;

/// <summary>How a controller tells an agent, in a refusal's trailers, that retrying cannot help (the agent then stops).</summary>
public static class NodeRefusal
{
    /// <summary>The trailer naming why a node was refused for good.</summary>
    public const string Trailer = "hawser-refusal";

    /// <summary>The node was removed from the controller: its certificate is revoked and it is no longer in the fleet.</summary>
    public const string Removed = "removed";

    /// <summary>The agent's version is outside what the controller supports (<see cref="VersionSkew"/>); the detail says which way.</summary>
    public const string Version = "version";
}
