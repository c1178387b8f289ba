namespace Hawser.Shared.Spec;

/// <summary>One problem in a spec, where it is and why.</summary>
public sealed record SpecError(string File, int Line, int Column, string Message)
{
    /// <summary><c>file:line:column: message</c>, the form editors and CI logs link.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>A parsed spec, or every error found in it; a spec with any error is rejected whole.</summary>
public sealed record SpecParseResult(SpecDocument? Spec, IReadOnlyList<SpecError> Errors)
{
    /// <summary>True when the spec can be used.</summary>
    public bool IsValid => Spec is not null && Errors.Count == 0;
}

/// <summary>Limits a spec is checked against.</summary>
public sealed record SpecRules
{
    /// <summary>
    /// Where a spec may ask the agent to write files; the agent's own config can narrow this.
    /// A spec naming a path outside is refused before anything is written.
    /// </summary>
    public IReadOnlyList<string> AllowedPathPrefixes { get; init; } =
    [
        "/etc/sysctl.d/", "/etc/modules-load.d/", "/etc/default/ufw", "/etc/ndppd.conf", "/etc/docker/",
        "/etc/ssl/hawser/", "/etc/nginx/", "/etc/haproxy/", "/etc/hitch/",
    ];

    /// <summary>
    /// Programs (absolute paths) a spec's reload <c>command</c> may run. Empty by default: a command
    /// is as powerful as any file write, so the host's operator opts in per program.
    /// </summary>
    public IReadOnlyList<string>? AllowedCommands { get; init; } = [];

    /// <summary>
    /// The controller's rules: any absolute path and any program. The controller cannot know each
    /// host's agent config; every agent checks its own desired state against its own limits.
    /// </summary>
    public static SpecRules Controller { get; } = new() { AllowedPathPrefixes = ["/"], AllowedCommands = null };

    /// <summary>
    /// The agent's own directories (its config, identity, state and undo records): never a spec's
    /// target, whatever <see cref="AllowedPathPrefixes"/> says, or one spec could disable the agent for good.
    /// </summary>
    public static IReadOnlyList<string> ReservedPrefixes { get; } = ["/etc/hawser/", "/var/lib/hawser/"];

    /// <summary>
    /// True when host path <paramref name="path"/> (absolute, normalised) is inside an allowed prefix
    /// (a prefix ending in '/' is a directory, otherwise one file) and outside the reserved ones.
    /// </summary>
    public bool AllowsWrite(string path) => IsWritable(AllowedPathPrefixes, path);

    /// <summary>The rule of <see cref="AllowsWrite"/> for any list of prefixes.</summary>
    public static bool IsWritable(IEnumerable<string> prefixes, string path) =>
        !ReservedPrefixes.Any(reserved => path.StartsWith(reserved, StringComparison.Ordinal) || path == reserved.TrimEnd('/'))
        && prefixes.Any(prefix => prefix.EndsWith('/') ? path.StartsWith(prefix, StringComparison.Ordinal) : path == prefix);

    /// <summary>Largest spec accepted, in characters.</summary>
    public int MaxLength { get; init; } = 1024 * 1024;
}
