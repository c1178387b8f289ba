using Hawser.Controller.Store;
using Hawser.Controller.Store.Repositories;
using Hawser.Shared.Configuration;

namespace Hawser.Controller.Web;

/// <summary>What members of an identity-provider group may do: a role, and a scope by node labels (empty: every node).</summary>
public sealed record SsoGroup(string Group, OperatorRole Role, IReadOnlyDictionary<string, string> Selector);

/// <summary>
/// Single sign-on to the web UI through the organisation's OpenID Connect provider (<c>--sso FILE</c>): where it is, this
/// controller's client there, and which of the provider's groups (a claim in the user's info) grant which role and scope.
/// The first listed group a person belongs to decides; a person in none is refused.
/// </summary>
public sealed record SsoSettings
{
    /// <summary>The provider's issuer URL (its <c>/.well-known/openid-configuration</c> is read from there).</summary>
    public required Uri Authority { get; init; }

    /// <summary>This controller's client id at the provider.</summary>
    public required string ClientId { get; init; }

    /// <summary>The client secret, read from the file the settings name (never written in them).</summary>
    public required string ClientSecret { get; init; }

    /// <summary>The sign-in button's words.</summary>
    public string DisplayName { get; init; } = "single sign-on";

    /// <summary>The claim that lists a person's groups.</summary>
    public string GroupsClaim { get; init; } = "groups";

    /// <summary>Extra scopes to ask for besides <c>openid profile email</c> (some providers send groups only for one).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>PEM file of the CA(s) that sign the provider's TLS certificate, when not a public CA (a private provider).</summary>
    public string? CaFile { get; init; }

    /// <summary>The groups that grant access, in order: the first a person belongs to decides.</summary>
    public required IReadOnlyList<SsoGroup> Groups { get; init; }

    /// <summary>The role and scope the first listed group among <paramref name="groups"/> grants; null when none does.</summary>
    public SsoGroup? Grant(IEnumerable<string> groups)
    {
        var held = groups.ToHashSet(StringComparer.Ordinal);
        return Groups.FirstOrDefault(g => held.Contains(g.Group));
    }

    /// <summary>Reads <paramref name="path"/>; every error names the file and line (<see cref="InvalidDataException"/>).</summary>
    public static SsoSettings Load(string path)
    {
        var file = YamlSettingsFile.Load(path);
        var root = file.Root;
        root.AllowOnly("authority", "clientId", "clientSecretFile", "displayName", "groupsClaim", "scopes", "caFile", "groups");
        Uri? authority = null;
        if (root.Text("authority") is not { } authorityText)
        {
            root.Invalid("authority", "authority is required: the provider's issuer URL, e.g. https://login.example.org/realms/ops");
        }
        else if (!Uri.TryCreate(authorityText, UriKind.Absolute, out authority) || authority.Scheme != Uri.UriSchemeHttps)
        {
            root.Invalid("authority", $"authority '{authorityText}' must be an https:// URL");
        }
        var clientId = root.Text("clientId");
        if (clientId is null)
        {
            root.Invalid("clientId", "clientId is required: this controller's client id at the provider");
        }
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string? secret = null;
        if (root.Text("clientSecretFile") is not { } secretFile)
        {
            root.Invalid("clientSecretFile", "clientSecretFile is required: a file (0600) holding the client secret");
        }
        else
        {
            try
            {
                secret = File.ReadAllText(System.IO.Path.GetFullPath(secretFile, directory)).Trim();
                if (secret.Length == 0)
                {
                    root.Invalid("clientSecretFile", $"clientSecretFile {secretFile} is empty");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                root.Invalid("clientSecretFile", $"clientSecretFile {secretFile} cannot be read: {ex.Message}");
            }
        }
        var groups = new List<SsoGroup>();
        foreach (var (name, map) in root.Maps("groups") ?? [])
        {
            map.AllowOnly("role", "selector");
            var role = OperatorRepository.ParseRole(map.Text("role"));
            if (role is null)
            {
                map.Invalid("role", $"groups.{name}.role must be viewer, operator or admin");
                continue;
            }
            var selector = map.Selector("selector");
            if (role == OperatorRole.Admin && selector.Count > 0)
            {
                map.Invalid("selector", $"groups.{name}: an admin cannot be scoped; give role operator or viewer with a selector");
            }
            groups.Add(new SsoGroup(name, role.Value, selector));
        }
        if (groups.Count == 0)
        {
            root.Invalid("groups", "groups is required: which of the provider's groups grant which role, e.g. groups: {ops: {role: admin}}");
        }
        var caFile = root.Text("caFile") is { } ca ? System.IO.Path.GetFullPath(ca, directory) : null;
        if (caFile is not null && !File.Exists(caFile))
        {
            root.Invalid("caFile", $"caFile {caFile} does not exist");
        }
        var settings = new SsoSettings
        {
            Authority = authority!, ClientId = clientId!, ClientSecret = secret!, DisplayName = root.Text("displayName") ?? "single sign-on",
            GroupsClaim = root.Text("groupsClaim") ?? "groups", Scopes = root.StringList("scopes") ?? [], CaFile = caFile, Groups = groups,
        };
        file.ThrowIfInvalid();
        return settings;
    }
}
