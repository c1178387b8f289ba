using System.CommandLine;
using System.Net;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Hawser.Shared.Cli;

namespace Hawser.Controller.Commands;

/// <summary><c>hawser-controller init</c>: the CA, the serving certificate, an admin credential and the store.</summary>
internal sealed class InitCommand : Command
{
    private readonly Option<string> _data = new("--data")
    {
        HelpName = "DIR",
        Description = "Data directory to initialize (store and pki/).",
        DefaultValueFactory = _ => RunCommand.DefaultData,
    };

    private readonly Option<string> _store = StoreOption.Create();

    private readonly Option<string> _secretsKey = new("--secrets-key")
    {
        HelpName = "FILE",
        Description = "With a shared store that another controller initialized: a copy of that controller's pki/secrets.key, " +
            "which unseals the CA and the keys the store holds. This controller then signs with the same CA.",
    };

    private readonly Option<string[]> _names = new("--name")
    {
        HelpName = "DNS",
        Description = "A DNS name agents and hawserctl use for the controller; repeat for more. Default: localhost.",
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<string[]> _addresses = new("--address")
    {
        HelpName = "IP",
        Description = "An IP address agents and hawserctl use for the controller; repeat for more. Default: 127.0.0.1 and ::1.",
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<string> _ctlConfig = new("--write-ctl-config")
    {
        HelpName = "FILE",
        Description = "Also write a hawserctl config (controller URL and admin credential) to FILE, e.g. ~/.config/hawser/hawserctl.yaml.",
    };

    private readonly Option<string> _url = new("--url")
    {
        Description = "The URL written into the hawserctl config. Default: https://127.0.0.1:7443.",
        DefaultValueFactory = _ => "https://127.0.0.1:7443",
    };

    public InitCommand() : base("init", "Create the controller's CA, serving certificate, admin credential (for hawserctl) and store in --data.")
    {
        Options.Add(_data);
        Options.Add(_store);
        Options.Add(_secretsKey);
        Options.Add(_names);
        Options.Add(_addresses);
        Options.Add(_ctlConfig);
        Options.Add(_url);
        SetAction((parse, _) => RunAsync(parse));
        CommandExamples.Set(this, "hawser-controller init --data /var/lib/hawser-controller --name ctl.example.org --address 192.0.2.10 --write-ctl-config ~/.config/hawser/hawserctl.yaml");
    }

    private async Task<int> RunAsync(ParseResult parse)
    {
        var data = Path.GetFullPath(parse.GetValue(_data)!);
        if (ControllerPki.Exists(data))
        {
            Console.Error.WriteLine($"error: {data} is already initialized (pki/ca.key exists); nothing was changed. Remove the directory to start over.");
            return ExitCodes.NotInitialized;
        }
        if (ParseAddresses(parse.GetValue(_addresses)) is not { } addresses)
        {
            return CommandLineRunner.UsageExitCode;
        }
        if (StoreOption.Read(parse, _store, data) is not { } location)
        {
            return CommandLineRunner.UsageExitCode;
        }
        if (parse.GetValue(_secretsKey) is { } key && !location.IsShared)
        {
            Console.Error.WriteLine($"error: --secrets-key {key} joins a controller to a shared store (--store postgres://...); with this controller's own SQLite store it has no use; nothing was changed");
            return CommandLineRunner.UsageExitCode;
        }
        return await InitializeAsync(data, location, parse.GetValue(_names) ?? [], addresses, parse.GetValue(_ctlConfig), parse.GetValue(_url)!, parse.GetValue(_secretsKey));
    }

    /// <summary>The store's CA unsealed with the key in <paramref name="secretsKey"/> (copied into pki/), or null after saying why not.</summary>
    private static Hawser.Shared.Pki.CertificateAuthority? SharedCa(string data, string secretsKey, string caPem, byte[] caKeySealed)
    {
        byte[] key;
        try
        {
            key = File.ReadAllBytes(secretsKey);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: --secrets-key: cannot read {secretsKey}: {ex.Message}");
            return null;
        }
        var pki = Path.Join(data, "pki");
        Directory.CreateDirectory(pki, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Hawser.Shared.IO.AtomicFile.Write(Path.Join(pki, "secrets.key"), key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var keyPem = System.Text.Encoding.ASCII.GetString(SecretBox.Open(data).Open(caKeySealed));
            return Hawser.Shared.Pki.CertificateAuthority.Load(caPem, keyPem);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            File.Delete(Path.Join(pki, "secrets.key"));
            Console.Error.WriteLine($"error: --secrets-key {secretsKey} does not unseal the CA in the store ({ex.Message}): copy pki/secrets.key from a controller that shares it; nothing was changed");
            return null;
        }
    }

    /// <summary>The --address values, or null after telling the operator which one is not an IP address.</summary>
    internal static List<IPAddress>? ParseAddresses(string[]? texts)
    {
        var addresses = new List<IPAddress>();
        foreach (var text in texts ?? [])
        {
            if (!IPAddress.TryParse(text, out var address))
            {
                Console.Error.WriteLine($"error: --address '{text}' is not an IP address");
                return null;
            }
            addresses.Add(address);
        }
        return addresses;
    }

    private static bool IsDnsName(string name) =>
        name.Length is > 0 and <= 253 && name.TrimEnd('.').Split('.').All(label =>
            label.Length is > 0 and <= 63 && label[0] != '-' && label[^1] != '-' && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));

    /// <summary>Creates the store and the PKI in <paramref name="data"/> (defaults: localhost, 127.0.0.1 and ::1) and optionally a hawserctl config.</summary>
    internal static async Task<int> InitializeAsync(string data, StoreLocation store, IReadOnlyList<string> names, IReadOnlyList<IPAddress> addresses, string? ctlConfig, string url,
        string? secretsKey = null)
    {
        // Checked before anything is made: a name goes into the serving certificate, and a bad one would leave a half-made directory.
        var badNames = names.Where(n => !IsDnsName(n)).ToList();
        if (badNames.Count > 0)
        {
            Console.Error.WriteLine($"error: --name {string.Join(", ", badNames.Select(n => $"'{Shared.Cli.TerminalText.Neutralize(n)}'"))}: a DNS name is letters, digits and '-' in dot-separated labels of 1-63 characters; nothing was changed");
            return CommandLineRunner.UsageExitCode;
        }
        addresses = addresses.Count > 0 ? addresses : [IPAddress.Loopback, IPAddress.IPv6Loopback];
        names = names.Count > 0 ? names : ["localhost"];
        using var opened = StoreOption.Open(store, initialized: false);
        if (opened is null)
        {
            return ExitCodes.StoreUnavailable;
        }
        ControllerPki pki;
        if (opened.Engine.IsShared && await opened.StoredCaAsync() is var (caPem, caKeySealed))
        {
            // Another controller set this store up: sign with its CA, unsealed with its secrets key.
            if (secretsKey is null)
            {
                Console.Error.WriteLine($"error: {store.Description} already holds the CA of the controllers that share it; copy pki/secrets.key " +
                    "from one of them and pass it with --secrets-key FILE; nothing was changed");
                return ExitCodes.Usage;
            }
            if (SharedCa(data, secretsKey, caPem, caKeySealed) is not { } ca)
            {
                return ExitCodes.Usage;
            }
            pki = ControllerPki.Create(data, names, addresses, ca);
            Console.WriteLine($"joined    the controllers sharing {store.Description}");
        }
        else
        {
            pki = ControllerPki.Create(data, names, addresses);
            if (opened.Engine.IsShared)
            {
                await opened.PublishCaAsync(pki.Ca.CertificatePem, SecretBox.Open(data).Seal(System.Text.Encoding.ASCII.GetBytes(pki.Ca.KeyPem)));
            }
        }
        using var _ = pki;
        // The admin credential is the operator "admin"'s: recorded, so it is refused once that operator is rotated or revoked.
        using (var admin = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(pki.AdminCertificatePath))
        {
            if (!await opened.Operators.AddCertificateAsync(admin.SerialNumber, "admin", new DateTimeOffset(admin.NotAfter.ToUniversalTime()), replacesOthers: false,
                new EventRecord { Kind = "operator.enrolled", Actor = "admin", Summary = $"operator admin's certificate {admin.SerialNumber} made by init of {data}" }, CancellationToken.None))
            {
                Console.Error.WriteLine($"warning: the operator 'admin' is revoked in {store.Description}, so {pki.AdminCertificatePath} will be refused; use another admin's credential");
            }
        }
        // The first key that protects web sign-ins, made now so controllers started together share it.
        Web.WebAuthentication.EnsureKey(opened, SecretBox.Open(data));
        Console.WriteLine($"initialized {data}");
        Console.WriteLine($"store     {store.Description}");
        Console.WriteLine($"ca-hash   {pki.Ca.Hash}");
        Console.WriteLine($"serving   {string.Join(", ", names.Concat(addresses.Select(a => a.ToString())))}");
        Console.WriteLine($"admin     {pki.AdminCertificatePath} + {pki.AdminKeyPath}");
        if (ctlConfig is not null)
        {
            CtlConfigFile.Write(ctlConfig, url, pki);
            Console.WriteLine($"hawserctl {ctlConfig}");
        }
        return ExitCodes.Ok;
    }
}
