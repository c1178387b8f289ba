using System.Text.RegularExpressions;

namespace Hawser.Agent.Kinds.Ufw;

/// <summary>/etc/ufw/ufw.conf, read for whether ufw is enabled (the forward policy and the firewall rules both ask).</summary>
internal static partial class UfwConf
{
    [GeneratedRegex(@"^[ \t]*ENABLED[ \t]*=[ \t]*""?yes""?[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex EnabledLine();

    /// <summary>True when the file says <c>ENABLED=yes</c>.</summary>
    public static bool IsEnabled(string conf) => EnabledLine().IsMatch(conf);
}
