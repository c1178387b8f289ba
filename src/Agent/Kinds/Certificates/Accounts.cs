using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec.Kinds.Certificates;

namespace Hawser.Agent.Kinds.Certificates;

/// <summary>Turns install owner and group names into ids from the host's /etc/passwd and /etc/group.</summary>
internal static class Accounts
{
    /// <summary>The uid and gid for <paramref name="install"/>; -1 where it sets none.</summary>
    public static (int Uid, int Gid) Resolve(ResourceContext context, CertificateInstallSpec install) =>
        (Lookup(context, "/etc/passwd", install.Owner, "user"), Lookup(context, "/etc/group", install.Group, "group"));

    private static int Lookup(ResourceContext context, string database, string? name, string what)
    {
        if (name is null)
        {
            return -1;
        }
        if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }
        var text = context.ReadFile(database) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : string.Empty;
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split(':');
            if (fields.Length > 2 && fields[0] == name && int.TryParse(fields[2], System.Globalization.CultureInfo.InvariantCulture, out var found))
            {
                return found;
            }
        }
        throw new ResourceException($"{what} '{name}' is not in {database}");
    }
}
