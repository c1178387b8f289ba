using System.Security.Cryptography.X509Certificates;
using Hawser.Shared.Configuration;

namespace Hawser.Ctl.Configuration;

/// <summary>
/// hawserctl's config: which controller and the admin credential. Found at --config, else
/// $HAWSER_CONFIG, else $XDG_CONFIG_HOME/hawser/hawserctl.yaml (~/.config/hawser/hawserctl.yaml).
/// `hawser-controller init --write-ctl-config` writes one.
/// </summary>
public sealed record CtlConfig
{
    /// <summary>The environment variable naming the config file.</summary>
    public const string ConfigVariable = "HAWSER_CONFIG";

    /// <summary>The controller's URL.</summary>
    public Uri? Controller { get; init; }

    /// <summary>Several controllers sharing one store, tried in order when one cannot be reached (<c>controllers:</c>).</summary>
    public IReadOnlyList<Uri> Controllers { get; init; } = [];

    /// <summary>Every controller the config names, in the order they are tried.</summary>
    public IReadOnlyList<Uri> AllControllers => Controller is { } one ? [one, .. Controllers.Where(c => c != one)] : Controllers;

    /// <summary>The controller's CA certificate (PEM file).</summary>
    public string? Ca { get; init; }

    /// <summary>The admin certificate (PEM file).</summary>
    public string? Certificate { get; init; }

    /// <summary>The admin key (PEM file).</summary>
    public string? Key { get; init; }

    /// <summary>Where the config is looked for when --config is not given.</summary>
    public static string DefaultPath()
    {
        if (Environment.GetEnvironmentVariable(ConfigVariable) is { Length: > 0 } fromEnv)
        {
            return fromEnv;
        }
        var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Join(configHome, "hawser", "hawserctl.yaml");
    }

    /// <summary>Reads the config; null when the file does not exist. Errors name the file and line.</summary>
    public static CtlConfig? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        var file = YamlSettingsFile.Load(path);
        file.Root.AllowOnly("controller", "controllers", "ca", "certificate", "key");
        Uri? controller = null;
        if (file.Root.Text("controller") is { } url && !Uri.TryCreate(url, UriKind.Absolute, out controller))
        {
            file.Root.Invalid("controller", $"controller '{url}' is not a URL, e.g. https://controller.example:7443");
        }
        var controllers = new List<Uri>();
        foreach (var item in file.Root.StringList("controllers") ?? [])
        {
            if (Uri.TryCreate(item, UriKind.Absolute, out var each) && each.Scheme is "http" or "https")
            {
                controllers.Add(each);
            }
            else
            {
                file.Root.Invalid("controllers", $"controllers: '{item}' is not an http:// or https:// URL, e.g. https://ctl2.example:7443");
            }
        }
        // Relative credential paths are relative to the config file.
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? FullPath(string key) => file.Root.Text(key) is { } value ? Path.GetFullPath(value, directory) : null;
        var config = new CtlConfig { Controller = controller, Controllers = controllers, Ca = FullPath("ca"), Certificate = FullPath("certificate"), Key = FullPath("key") };
        file.ThrowIfInvalid();
        return config;
    }

    /// <summary>The CA and admin certificate, loaded; throws with the file that is missing or wrong.</summary>
    public (X509Certificate2 Ca, X509Certificate2 Admin) LoadCredentials(string configPath)
    {
        if (Ca is null || Certificate is null || Key is null)
        {
            throw new InvalidDataException($"{configPath} needs ca, certificate and key for an https:// controller");
        }
        try
        {
            // On Linux SslStream uses a key loaded from PEM as it is; a round trip through PKCS#12 (which Windows
            // needs) cost hawserctl a tenth of its run in key derivation.
            return (X509CertificateLoader.LoadCertificateFromFile(Ca), X509Certificate2.CreateFromPemFile(Certificate, Key));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidDataException($"cannot load the credentials named in {configPath}: {ex.Message}", ex);
        }
    }
}
