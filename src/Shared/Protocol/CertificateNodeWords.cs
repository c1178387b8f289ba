using Hawser.Shared.Protocol.V1;

namespace Hawser.Shared.Protocol;

/// <summary>
/// How far a certificate's current serial got on one node, in the words hawserctl and the web UI both use:
/// <c>served</c> (a server the agent checked serves it), <c>installed</c> (on disk; no server checked), <c>failed</c>,
/// <c>serves 1A2B… (installed 4F5D…)</c>, <c>has 4F5D…</c> (an older serial), <c>none installed</c>.
/// </summary>
public static class CertificateNodeWords
{
    /// <summary>The state of <paramref name="certificate"/> on <paramref name="node"/>.</summary>
    public static string Of(Certificate certificate, string node)
    {
        var installed = certificate.Installed.GetValueOrDefault(node) ?? "";
        var served = certificate.Served.Where(s => s.Node == node && s.Serial.Length > 0 && s.CoversName).ToList();
        return (installed, served.FirstOrDefault(s => s.Serial != installed)) switch
        {
            ({ Length: 0 }, _) => "none installed",
            (_, { } other) => $"serves {Abbreviated(other.Serial)} (installed {Abbreviated(installed)})",
            _ when certificate.NodeErrors.ContainsKey(node) => "failed",
            _ when installed != certificate.Serial => $"has {Abbreviated(installed)}",
            _ => served.Count > 0 ? "served" : "installed",
        };
    }

    /// <summary>A serial short enough to read, long enough to tell apart.</summary>
    public static string Abbreviated(string serial) => serial.Length <= 12 ? serial : serial[..12] + "…";
}
