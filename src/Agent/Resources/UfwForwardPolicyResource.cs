using System.Text;
using System.Text.RegularExpressions;
using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Resources;

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
        if (await IsActiveAsync(context, cancellationToken))
        {
            // ufw turns REJECT into a DROP policy plus a reject rule.
            var chainPolicy = policy == "ACCEPT" ? "ACCEPT" : "DROP";
            foreach (var tool in new[] { "iptables", "ip6tables" })
            {
                var live = await ChainPolicyAsync(context, tool, cancellationToken);
                if (live != chainPolicy)
                {
                    changes.Add(new Change($"{tool} FORWARD policy", live, chainPolicy));
                }
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
            context.WriteFile(DefaultsFile, Id, Encoding.UTF8.GetBytes(updated), FileModes.PublicFile);
        }
        if (await IsActiveAsync(context, cancellationToken))
        {
            (await context.Runner.RunAsync(["ufw", "reload"], cancellationToken)).EnsureSuccess();
        }
    }

    private static string ReadDefaults(ResourceContext context) =>
        context.ReadFile(DefaultsFile) is { } bytes
            ? Encoding.UTF8.GetString(bytes)
            : throw new ResourceException($"ufw is not installed here: {DefaultsFile} is missing");

    private static async Task<bool> IsActiveAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var status = await context.Runner.RunAsync(["ufw", "status"], cancellationToken);
        return status.Succeeded && status.StandardOutput.Contains("Status: active", StringComparison.Ordinal);
    }

    private static async Task<string?> ChainPolicyAsync(ResourceContext context, string tool, CancellationToken cancellationToken)
    {
        var result = (await context.Runner.RunAsync([tool, "-S", "FORWARD"], cancellationToken)).EnsureSuccess();
        var first = result.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("-P FORWARD ", StringComparison.Ordinal));
        return first?["-P FORWARD ".Length..].Trim();
    }
}
