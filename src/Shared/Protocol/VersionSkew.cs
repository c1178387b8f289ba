using System.Globalization;

namespace Hawser.Shared.Protocol;

/// <summary>
/// Which agent versions a controller works with: its own major version, from the previous minor up to its own
/// (a controller 1.4 takes agents 1.3.x and 1.4.x). Controllers are upgraded first, then agents, one minor at a time.
/// </summary>
public static class VersionSkew
{
    /// <summary>
    /// Why a controller of version <paramref name="controller"/> refuses agent <paramref name="agent"/> (the node's own text,
    /// neutralised: the sentence is logged and printed), or null when it takes it.
    /// </summary>
    public static string? Problem(string agent, Version controller)
    {
        var supported = Supported(controller);
        var shown = Cli.TerminalText.Neutralize(agent);
        if (!TryParse(agent, out var version))
        {
            return $"agent version '{shown}' is not one this controller understands (it supports {supported}): upgrade it";
        }
        var oldest = OldestMinor(controller);
        if (version.Major < controller.Major || (version.Major == controller.Major && version.Minor < oldest))
        {
            return $"agent {shown} is older than this controller supports ({supported}): upgrade it";
        }
        if (version.Major > controller.Major || version.Minor > controller.Minor)
        {
            return $"agent {shown} is newer than this controller supports ({supported}): upgrade the controllers first";
        }
        return null;
    }

    /// <summary>The supported range in words, <c>1.3 to 1.4</c> (or <c>1.0</c> alone).</summary>
    public static string Supported(Version controller) =>
        OldestMinor(controller) == controller.Minor ? $"{controller.Major}.{controller.Minor}" : $"{controller.Major}.{OldestMinor(controller)} to {controller.Major}.{controller.Minor}";

    /// <summary>True for a release's version: <c>1.2.3</c> or <c>1.2.3-rc1</c>, at most 64 characters of letters, digits and <c>.-+~</c>.</summary>
    public static bool IsReleaseVersion(string text) =>
        text.Length <= 64 && TryParse(text, out _) && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '+' or '~');

    /// <summary>Reads <c>1.2.3</c> or <c>1.2.3-rc1</c> (the suffix ignored); false for anything else.</summary>
    public static bool TryParse(string text, out Version version)
    {
        var core = text.Split('-', '+', '~')[0];
        var parts = core.Split('.');
        version = new Version();
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || p.Length > 9 || !p.All(char.IsAsciiDigit)))
        {
            return false;
        }
        version = new Version(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
        return true;
    }

    private static int OldestMinor(Version controller) => Math.Max(0, controller.Minor - 1);
}
