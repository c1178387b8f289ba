using System.Globalization;
using System.Text;
using Hawser.Shared.Spec.Kinds.Firewall;

namespace Hawser.Agent.Kinds.Firewall;

/// <summary>
/// One <c>### tuple ###</c> line of ufw's rule files: <c>[route:]ACTION PROTO DPORT DST SPORT SRC DIR
/// [comment=HEX]</c>, the form ufw reads its own rules back from.
/// </summary>
public sealed record UfwTuple(FirewallRuleSpec Rule, string? Comment)
{
    private const string Prefix = "### tuple ### ";

    /// <summary>The rule on <paramref name="line"/>, or null for any other line or a tuple Hawser never writes (logging, source ports, interfaces, ranges).</summary>
    public static UfwTuple? Parse(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var fields = line[Prefix.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 7 || fields[4] != "any" || fields[6] != "in")
        {
            return null;
        }
        var routed = fields[0].StartsWith("route:", StringComparison.Ordinal);
        var action = routed ? fields[0]["route:".Length..] : fields[0];
        if (action is not ("allow" or "deny" or "limit") || fields[1] is not ("tcp" or "udp" or "any"))
        {
            return null;
        }
        var ports = new List<int>();
        if (fields[2] != "any")
        {
            foreach (var port in fields[2].Split(','))
            {
                if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    return null;
                }
                ports.Add(number);
            }
        }
        string? comment = null;
        if (fields.Length > 7 && fields[7].StartsWith("comment=", StringComparison.Ordinal))
        {
            try
            {
                comment = Encoding.UTF8.GetString(Convert.FromHexString(fields[7]["comment=".Length..]));
            }
            catch (FormatException)
            {
                return null;
            }
        }
        var rule = new FirewallRuleSpec
        {
            Action = action,
            Protocol = fields[1],
            Ports = [.. ports.Order()],
            To = Any(fields[3]),
            From = Any(fields[5]),
            Routed = routed,
        };
        return new UfwTuple(rule, comment);
    }

    private static string Any(string address) => address is "0.0.0.0/0" or "::/0" ? "any" : address;
}
