using System.Text;
using Hawser.Agent.Docker;
using Hawser.Agent.Kinds.Ufw;
using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.Spec.Kinds.Firewall;

namespace Hawser.Agent.Kinds.Firewall;

/// <summary>
/// Hawser's rules in ufw. Which rules are Hawser's is recorded in its own state (<see cref="AgentState.FirewallRules"/>,
/// written before each rule is added), not only in the comment <see cref="Marker"/> that anyone can write: Hawser
/// changes and deletes only rules it added, and a spec rule for traffic an operator's rule already covers (another
/// action or comment) fails naming that rule instead of taking it over. The plan reads ufw's own rule files (the
/// <c>### tuple ###</c> lines of /etc/ufw/user.rules and user6.rules, what ufw itself reads back), compares Hawser's
/// rules there with the spec's in order, and the apply runs <c>ufw [route] delete</c> and <c>ufw [route] ACTION</c>;
/// ufw changes the live chains itself when it is active.
/// </summary>
public sealed class UfwRulesResource(IReadOnlyList<FirewallRuleSpec> rules) : IResource
{
    /// <summary>The comment that marks a rule as Hawser's.</summary>
    public const string Marker = "managed by hawser";

    /// <summary>ufw's rule files for IPv4 and IPv6.</summary>
    public static readonly string[] RuleFiles = ["/etc/ufw/user.rules", "/etc/ufw/user6.rules"];

    /// <summary>How the marker appears in a tuple line (ufw stores comments hex-encoded).</summary>
    public static string MarkerInRuleFile => "comment=" + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(Marker));

    /// <inheritdoc/>
    public string Id => "firewall:ufw";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        if (context.ReadFile("/etc/ufw/ufw.conf") is not { } conf)
        {
            throw new ResourceException("ufw is not installed here: /etc/ufw/ufw.conf is missing");
        }
        var present = ReadRules(context);
        if (Collisions(present) is { Count: > 0 } collisions)
        {
            throw new ResourceException(string.Join("; ", collisions));
        }
        var (deletes, adds) = Steps(present.Own);
        List<Change> changes =
        [
            .. deletes.Select(rule => new Change(Display(DeleteCommand(rule)), "rule", null)),
            .. adds.Select(rule => new Change(Display(AddCommand(rule)), null, "rule")),
        ];
        var warnings = new List<string>();
        if (rules.Count > 0)
        {
            if (!UfwConf.IsEnabled(Encoding.UTF8.GetString(conf)))
            {
                warnings.Add("ufw is not enabled here: the rules are kept in /etc/ufw and enforced once it is (ufw enable)");
            }
            warnings.AddRange(await PublishedPortWarningsAsync(context, cancellationToken));
        }
        return new ResourcePlan { Changes = changes, Warnings = warnings };
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var present = ReadRules(context);
        if (Collisions(present) is { Count: > 0 } collisions)
        {
            throw new ResourceException(string.Join("; ", collisions));
        }
        var (deletes, adds) = Steps(present.Own);
        var owned = context.State.FirewallRules ??= [.. present.Own.V4.Concat(present.Own.V6).Select(Key).Distinct()];
        foreach (var rule in deletes)
        {
            (await context.Runner.RunAsync(DeleteCommand(rule), cancellationToken)).EnsureSuccess();
            if (!adds.Any(rule.SameAs))
            {
                owned.Remove(Key(rule));
                context.SaveState();
            }
        }
        foreach (var rule in adds)
        {
            // Written ahead: a kill between the record and the add leaves a record of a rule that is not there (harmless,
            // it is added or forgotten next time), never a rule of Hawser's that Hawser would not know as its own.
            if (!owned.Contains(Key(rule)))
            {
                owned.Add(Key(rule));
                context.SaveState();
            }
            (await context.Runner.RunAsync(AddCommand(rule), cancellationToken)).EnsureSuccess();
        }
    }

    /// <summary>How a rule is recorded as Hawser's: its action and its traffic.</summary>
    public static string Key(FirewallRuleSpec rule) => $"{rule.Action} {rule.Traffic}";

    /// <summary>
    /// The spec's rules whose traffic a rule Hawser did not add already covers, each said with that rule: ufw would
    /// otherwise replace the operator's comment, or turn its action into the spec's, and a later removal would delete it.
    /// </summary>
    private List<string> Collisions(PresentRules present)
    {
        var found = new List<string>();
        foreach (var rule in rules)
        {
            foreach (var (file, other) in present.Others)
            {
                if ((other.Rule with { Action = rule.Action }).SameAs(rule))
                {
                    found.Add($"rule '{Display(AddCommand(rule)[1..^2])}' is for the same traffic as a rule Hawser did not add, " +
                        $"'{other.Rule.Action} {other.Rule.Traffic}'{(other.Comment is { } comment ? $" (comment '{comment}')" : "")} in {file}; " +
                        "Hawser never changes or deletes an operator's rule: remove that rule with ufw, or take this one out of the spec");
                    break;
                }
            }
        }
        return found;
    }

    /// <summary>
    /// What to delete and add so ufw holds the spec's rules in the spec's order. ufw appends a new rule
    /// after the others of its family (it keeps IPv4 and IPv6 rules apart), so rules missing at the end
    /// are added and rules no longer wanted deleted; when that would leave them out of order, all of
    /// Hawser's rules are deleted and added again in order, since ufw checks rules in order.
    /// </summary>
    private (List<FirewallRuleSpec> Deletes, List<FirewallRuleSpec> Adds) Steps(OwnRules present)
    {
        var all = new List<FirewallRuleSpec>();
        foreach (var rule in present.V4.Concat(present.V6).Where(rule => !all.Any(rule.SameAs)))
        {
            all.Add(rule);
        }
        var deletes = all.Where(r => !rules.Any(r.SameAs)).ToList();
        var adds = rules.Where(r => !all.Any(r.SameAs)).ToList();
        bool Ordered(List<FirewallRuleSpec> have, bool v6) =>
            have.Where(r => !deletes.Any(r.SameAs)).Concat(adds.Where(r => InFamily(r, v6)))
                .SequenceEqual(rules.Where(r => InFamily(r, v6)), RuleComparer.Instance);
        return Ordered(present.V4, v6: false) && Ordered(present.V6, v6: true) ? (deletes, adds) : (all, [.. rules]);
    }

    /// <summary>True when ufw keeps <paramref name="rule"/> among its IPv6 rules (or IPv4 ones): a rule between any addresses is in both.</summary>
    private static bool InFamily(FirewallRuleSpec rule, bool v6)
    {
        var address = rule.To != "any" ? rule.To : rule.From;
        return address == "any" || address.Contains(':', StringComparison.Ordinal) == v6;
    }

    private sealed class RuleComparer : IEqualityComparer<FirewallRuleSpec>
    {
        public static readonly RuleComparer Instance = new();

        public bool Equals(FirewallRuleSpec? x, FirewallRuleSpec? y) => x is null ? y is null : y is not null && x.SameAs(y);

        public int GetHashCode(FirewallRuleSpec obj) => obj.Traffic.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>The command as an operator would type it (the comment quoted).</summary>
    public static string Display(IEnumerable<string> argv) => string.Join(' ', argv.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));

    /// <summary><c>ufw [route] ACTION [proto P] from F to T [port PORTS] comment 'managed by hawser'</c>.</summary>
    public static string[] AddCommand(FirewallRuleSpec rule) => ["ufw", .. Arguments(rule, delete: false), "comment", Marker];

    /// <summary><c>ufw [route] delete ACTION ...</c>; ufw finds the rule by what it matches, the comment aside.</summary>
    public static string[] DeleteCommand(FirewallRuleSpec rule) => ["ufw", "--force", .. Arguments(rule, delete: true)];

    private static List<string> Arguments(FirewallRuleSpec rule, bool delete)
    {
        var argv = new List<string>();
        if (rule.Routed)
        {
            argv.Add("route");
        }
        if (delete)
        {
            argv.Add("delete");
        }
        argv.Add(rule.Action);
        if (rule.Protocol != "any")
        {
            argv.AddRange(["proto", rule.Protocol]);
        }
        argv.AddRange(["from", rule.From, "to", rule.To]);
        if (rule.Ports.Count > 0)
        {
            argv.AddRange(["port", rule.PortList]);
        }
        return argv;
    }

    /// <summary>
    /// ufw's rules, in order: Hawser's (recorded in its state and still carrying its comment) per file, IPv4's
    /// (user.rules) and IPv6's (user6.rules), and every other rule with the file it is in.
    /// </summary>
    public static PresentRules ReadRules(ResourceContext context)
    {
        var tuples = RuleFiles.Select(file => (File: file, Tuples: context.ReadFile(file) is { } bytes
            ? Encoding.UTF8.GetString(bytes).Split('\n').Select(UfwTuple.Parse).OfType<UfwTuple>().ToList()
            : [])).ToList();
        // A state from before ownership was recorded adopts the rules with Hawser's comment, once (they were added by it).
        var recorded = context.State.FirewallRules?.ToHashSet(StringComparer.Ordinal)
            ?? [.. tuples.SelectMany(f => f.Tuples).Where(t => t.Comment == Marker).Select(t => Key(t.Rule))];
        bool IsOwn(UfwTuple t) => t.Comment == Marker && recorded.Contains(Key(t.Rule));
        return new PresentRules(
            new OwnRules([.. tuples[0].Tuples.Where(IsOwn).Select(t => t.Rule)], [.. tuples[1].Tuples.Where(IsOwn).Select(t => t.Rule)]),
            [.. tuples.SelectMany(f => f.Tuples.Where(t => !IsOwn(t)).Select(t => (f.File, t)))]);
    }

    /// <summary>Hawser's rules in each of ufw's files.</summary>
    public sealed record OwnRules(List<FirewallRuleSpec> V4, List<FirewallRuleSpec> V6);

    /// <summary>What ufw's files hold: Hawser's rules, and the others with their file.</summary>
    public sealed record PresentRules(OwnRules Own, List<(string File, UfwTuple Tuple)> Others);

    /// <summary>
    /// Docker's published ports skip ufw: Docker's own FORWARD rules accept that traffic before ufw's
    /// chains see it. Say which ports are exposed that way, and where to filter them.
    /// </summary>
    private static async Task<IEnumerable<string>> PublishedPortWarningsAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        if (!File.Exists(context.Docker.SocketPath))
        {
            return [];
        }
        try
        {
            var containers = await context.Docker.SendAsync(HttpMethod.Get, "containers/json", null, cancellationToken);
            var warnings = new List<string>();
            foreach (var container in containers?.AsArray() ?? [])
            {
                var name = container?["Names"]?[0]?.GetValue<string>().TrimStart('/') ?? "(unnamed)";
                foreach (var port in container?["Ports"]?.AsArray() ?? [])
                {
                    var ip = port?["IP"]?.GetValue<string>();
                    if (port?["PublicPort"] is null || ip is null || System.Net.IPAddress.TryParse(ip, out var bound) && System.Net.IPAddress.IsLoopback(bound))
                    {
                        continue;
                    }
                    warnings.Add($"container {name} publishes {(ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip)}:{port["PublicPort"]}->{port["PrivatePort"]}/{port["Type"]}: "
                        + "Docker's own rules accept that traffic before ufw sees it, whatever these rules say; filter it in the DOCKER-USER chain or publish it on 127.0.0.1");
                }
            }
            return warnings;
        }
        catch (Exception ex) when (ex is DockerUnavailableException or DockerApiException or HttpRequestException)
        {
            return [$"could not list Docker's published ports ({ex.Message}); ports Docker publishes are exposed whatever ufw says"];
        }
    }
}
