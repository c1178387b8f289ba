using System.Text;
using System.Text.RegularExpressions;
using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Kinds.Ufw;

/// <summary>
/// ufw's <c>DEFAULT_FORWARD_POLICY</c> in /etc/default/ufw, every other line kept; when ufw is active,
/// <c>ufw reload</c> and the FORWARD chain policy read back from iptables and ip6tables.
/// </summary>
public sealed partial class UfwForwardPolicyResource(string policy) : IResource
{
    /// <summary>The file ufw sources on every start and reload.</summary>
    public const string DefaultsFile = "/etc/default/ufw";

    /// <inheritdoc/>
    public string Id => "ufw:forward-policy";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    [GeneratedRegex(@"^[ \t]*DEFAULT_FORWARD_POLICY[ \t]*=[ \t]*""?([A-Za-z]*)""?[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex PolicyLine();

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var changes = new List<Change>();
        var text = ReadDefaults(context);
        var current = PolicyLine().Match(text) is { Success: true } m ? m.Groups[1].Value : null;
        if (current != policy)
        {
            changes.Add(new Change($"{DefaultsFile} DEFAULT_FORWARD_POLICY", current, policy));
        }
        if (await LivePoliciesAsync(context, cancellationToken) is { } live)
        {
            // ufw turns REJECT into a DROP policy plus a reject rule.
            var chainPolicy = policy == "ACCEPT" ? "ACCEPT" : "DROP";
            foreach (var (tool, livePolicy) in live.Where(p => p.Value != chainPolicy))
            {
                changes.Add(new Change($"{tool} FORWARD policy", livePolicy, chainPolicy));
            }
        }
        return new ResourcePlan { Changes = changes };
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var text = ReadDefaults(context);
        var line = $"DEFAULT_FORWARD_POLICY=\"{policy}\"";
        var updated = PolicyLine().IsMatch(text)
            ? PolicyLine().Replace(text, line, 1)
            : text + (text.EndsWith('\n') || text.Length == 0 ? "" : "\n") + line + "\n";
        if (updated != text)
        {
            context.WriteFile(DefaultsFile, Id, Encoding.UTF8.GetBytes(updated));
        }
        await ReloadIfActiveAsync(context, cancellationToken);
    }

    /// <summary>ufw reads /etc/default/ufw only when it (re)loads: reload it when it is active.</summary>
    internal static async Task ReloadIfActiveAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        if (await LivePoliciesAsync(context, cancellationToken) is not null)
        {
            (await context.Runner.RunAsync(["ufw", "reload"], cancellationToken)).EnsureSuccess();
        }
    }

    private static string ReadDefaults(ResourceContext context) =>
        context.ReadFile(DefaultsFile) is { } bytes
            ? Encoding.UTF8.GetString(bytes)
            : throw new ResourceException($"ufw is not installed here: {DefaultsFile} is missing");

    /// <summary>
    /// The live FORWARD policies by tool when ufw is active, or null. Active means enabled in
    /// /etc/ufw/ufw.conf and its chains loaded; reading the conf first spares two process starts
    /// on hosts where ufw is off, and iptables answers both questions without starting ufw itself.
    /// </summary>
    internal static async Task<Dictionary<string, string?>?> LivePoliciesAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var conf = context.ReadFile("/etc/ufw/ufw.conf") is { } bytes ? Encoding.UTF8.GetString(bytes) : string.Empty;
        if (!UfwConf.IsEnabled(conf))
        {
            return null;
        }
        var policies = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            var result = (await context.Runner.RunAsync([tool, "-S", "FORWARD"], cancellationToken)).EnsureSuccess();
            var lines = result.StandardOutput.Split('\n');
            if (!lines.Any(l => l.Contains("ufw", StringComparison.Ordinal)))
            {
                return null;
            }
            policies[tool] = lines.FirstOrDefault(l => l.StartsWith("-P FORWARD ", StringComparison.Ordinal))?["-P FORWARD ".Length..].Trim();
        }
        return policies;
    }
}
