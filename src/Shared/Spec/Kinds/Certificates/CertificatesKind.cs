using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.Certificates;

/// <summary>A certificate: which names, how it is validated, where it goes, what reloads.</summary>
public sealed record CertificateSpec
{
    /// <summary>A name unique within the spec.</summary>
    public required string Name { get; init; }

    /// <summary>The DNS names, the first one the subject.</summary>
    public required IReadOnlyList<string> Domains { get; init; }

    /// <summary><c>http-01</c> (answered by the nodes) or <c>dns-01</c> (a TXT record the controller publishes; needed for wildcards).</summary>
    public string Challenge { get; init; } = "http-01";

    /// <summary>The key the controller makes: <c>ecdsa-p256</c> (default) or <c>rsa-2048</c> (for clients without ECDSA).</summary>
    public string KeyType { get; init; } = "ecdsa-p256";

    /// <summary>The CA's certificate profile (its directory's <c>meta.profiles</c>, e.g. <c>shortlived</c>); null for the CA's default.</summary>
    public string? Profile { get; init; }

    /// <summary>Where and in which format the files go.</summary>
    public IReadOnlyList<CertificateInstallSpec> Install { get; init; } = [];

    /// <summary>What runs after the files changed.</summary>
    public CertificateReloadSpec? Reload { get; init; }

    /// <summary>Local mode only: PEM files holding the chain and key; the controller supplies them otherwise.</summary>
    public CertificateSourceSpec? Source { get; init; }
}

/// <summary>Where local mode reads a certificate's PEM material; relative paths are relative to the spec file.</summary>
public sealed record CertificateSourceSpec
{
    /// <summary>The full chain, leaf first.</summary>
    public required string Cert { get; init; }

    /// <summary>The private key.</summary>
    public required string Key { get; init; }
}

/// <summary>One install target.</summary>
public sealed record CertificateInstallSpec
{
    /// <summary><c>pem-pair</c>, <c>combined</c> or <c>haproxy</c>.</summary>
    public required string Format { get; init; }

    /// <summary>Certificate chain file (pem-pair).</summary>
    public string? Cert { get; init; }

    /// <summary>Private key file (pem-pair).</summary>
    public string? Key { get; init; }

    /// <summary>The one file (combined, haproxy).</summary>
    public string? Path { get; init; }

    /// <summary>Owner of the files (name or uid); the agent's own when unset.</summary>
    public string? Owner { get; init; }

    /// <summary>Group of the files (name or gid); the agent's own when unset.</summary>
    public string? Group { get; init; }

    /// <summary>How the server that reads these files is reached to check what it serves; null for the default (<see cref="CertificateVerifySpec.Default"/>).</summary>
    public CertificateVerifySpec? Verify { get; init; }

    /// <summary>The files this install writes, in order: the certificate (or combined) file, then the key file if separate.</summary>
    public IReadOnlyList<string> Files => Format switch
    {
        "pem-pair" when Cert is not null && Key is not null => [Cert, Key],
        "haproxy" when Path is not null => [Path, Path + ".key"],
        "combined" when Path is not null => [Path],
        _ => [],
    };

    /// <summary>
    /// The directory holding the versioned pair of a two-file format (beside the first file), ending in '/';
    /// null for a one-file format. Install <paramref name="index"/> of certificate <paramref name="certificateName"/>.
    /// </summary>
    public string? StoreDirectory(string certificateName, int index) => Files.Count < 2 ? null
        : System.IO.Path.Join(System.IO.Path.GetDirectoryName(Files[0]), $".hawser-{certificateName}-{index}") + "/";
}

/// <summary>
/// Where the agent opens TLS to read the certificate a server really serves (<c>verify:</c>): an address and the
/// name it asks for (SNI). Written out, a mismatch or a server that does not answer fails the certificate; the default
/// (127.0.0.1:443, the first domain) is a guess, so it only counts a served leaf that covers that name.
/// </summary>
public sealed record CertificateVerifySpec
{
    /// <summary>HOST:PORT to connect to (an IPv6 address in brackets); empty when checks are off.</summary>
    public required string Connect { get; init; }

    /// <summary>The server name to ask for; null for the certificate's first domain.</summary>
    public string? Sni { get; init; }

    /// <summary>False for the default, which the spec did not write.</summary>
    public bool Explicit { get; init; } = true;

    /// <summary><c>verify: false</c>: nothing is checked.</summary>
    public static CertificateVerifySpec Off { get; } = new() { Connect = "" };

    /// <summary>Where proxies listen unless told otherwise: HTTPS on this host.</summary>
    public static CertificateVerifySpec Default { get; } = new() { Connect = "127.0.0.1:443", Explicit = false };

    /// <summary>True when nothing is to be checked.</summary>
    public bool IsOff => Connect.Length == 0;

    /// <summary>The name to ask for: <see cref="Sni"/>, or the first domain (a wildcard's as a name it covers).</summary>
    public string ServerName(IReadOnlyList<string> domains) =>
        Sni ?? (domains.Count == 0 ? "localhost" : domains[0].StartsWith("*.", StringComparison.Ordinal) ? "hawser-verify" + domains[0][1..] : domains[0]);
}

/// <summary>Reload actions after a certificate changed.</summary>
public sealed record CertificateReloadSpec
{
    /// <summary>Send a signal to a container.</summary>
    public DockerSignalSpec? DockerSignal { get; init; }

    /// <summary>Run a program (argv, no shell).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>Run a program inside a container.</summary>
    public DockerExecSpec? DockerExec { get; init; }
}

/// <summary>A command run inside a container, e.g. <c>nginx -s reload</c>.</summary>
public sealed record DockerExecSpec
{
    /// <summary>Container name or id.</summary>
    public required string Container { get; init; }

    /// <summary>The argv.</summary>
    public required IReadOnlyList<string> Command { get; init; }
}

/// <summary>A signal for a container.</summary>
public sealed record DockerSignalSpec
{
    /// <summary>Container name or id.</summary>
    public required string Container { get; init; }

    /// <summary>Signal name, e.g. HUP.</summary>
    public string Signal { get; init; } = "HUP";
}

/// <summary>
/// <c>certificates</c>: what to obtain and where to install it, merged by certificate name. Each
/// install names every file it creates, so the paths the agent may write are checked for all of them.
/// </summary>
public sealed partial class CertificatesKind : SpecKind<IReadOnlyList<CertificateSpec>>
{
    /// <summary>The one instance the tables list.</summary>
    public static CertificatesKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "certificates";

    [GeneratedRegex(@"^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})\z")]
    private static partial Regex AccountNamePattern();

    [GeneratedRegex(@"^(?=.{1,253}\z)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?\z")]
    private static partial Regex HostName();

    /// <inheritdoc/>
    public override IReadOnlyList<CertificateSpec> Read(YamlNode node, string what, SpecReader reader)
    {
        var result = new List<CertificateSpec>();
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(node, $"{what} must be a list");
            return result;
        }
        foreach (var item in sequence.Children)
        {
            if (reader.Block(item, $"{what} entry", "name", "domains", "challenge", "keyType", "profile", "install", "reload", "source") is not { } map)
            {
                continue;
            }
            var name = reader.RequiredString(map, "name", $"{what} entry");
            var label = $"certificate '{name}'";
            if (name is not null && !SpecReader.IsName(name))
            {
                // It names files and directories (the agent keeps supplied material under it).
                reader.Error(SpecReader.Get(map, "name")!, $"{label}: a certificate name is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
            if (name is not null && result.Any(c => c.Name == name))
            {
                reader.Error(SpecReader.Get(map, "name")!, $"{label} is defined twice in {what}");
            }
            var challenge = reader.OptionalString(map, "challenge", label) ?? "http-01";
            if (challenge is not ("http-01" or "dns-01"))
            {
                reader.Error(SpecReader.Get(map, "challenge")!, $"{label} challenge '{challenge}' is not supported; use http-01 or dns-01");
            }
            var keyType = reader.OptionalString(map, "keyType", label) ?? "ecdsa-p256";
            if (keyType is not ("ecdsa-p256" or "rsa-2048"))
            {
                reader.Error(SpecReader.Get(map, "keyType")!, $"{label} keyType '{keyType}' is not one of ecdsa-p256, rsa-2048");
            }
            var profile = reader.OptionalString(map, "profile", label);
            if (profile is not null && !SpecReader.IsName(profile))
            {
                reader.Error(SpecReader.Get(map, "profile")!, $"{label} profile '{profile}' is not a CA profile name (1-63 letters, digits, '.', '_' or '-')");
            }
            var domains = ReadDomains(map, label, challenge, reader);
            var installs = new List<CertificateInstallSpec>();
            foreach (var installNode in reader.Sequence(map, "install", label))
            {
                if (ReadInstall(installNode, $"{label} install", reader) is { } install)
                {
                    if (name is not null)
                    {
                        CheckCompanions(installNode, install, name, installs.Count, $"{label} install", reader);
                    }
                    installs.Add(install);
                }
            }
            var reload = SpecReader.Get(map, "reload") is { } reloadNode ? ReadReload(reloadNode, $"{label} reload", reader) : null;
            CertificateSourceSpec? source = null;
            if (SpecReader.Get(map, "source") is { } sourceNode && reader.Block(sourceNode, $"{label} source", "cert", "key") is { } sourceMap
                && reader.RequiredString(sourceMap, "cert", $"{label} source") is { } sourceCert
                && reader.RequiredString(sourceMap, "key", $"{label} source") is { } sourceKey)
            {
                source = new CertificateSourceSpec { Cert = sourceCert, Key = sourceKey };
            }
            if (name is not null)
            {
                result.Add(new CertificateSpec { Name = name, Domains = domains, Challenge = challenge, KeyType = keyType, Profile = profile, Install = installs, Reload = reload, Source = source });
            }
        }
        return result;
    }

    private static List<string> ReadDomains(YamlMappingNode map, string label, string challenge, SpecReader reader)
    {
        var domains = new List<string>();
        var domainItems = reader.Sequence(map, "domains", label).ToList();
        if (domainItems.Count == 0)
        {
            reader.Error(SpecReader.Get(map, "domains") ?? map, $"{label} needs at least one domain");
        }
        foreach (var domainNode in domainItems)
        {
            if (reader.Scalar(domainNode, $"{label} domain") is not { } domain)
            {
                continue;
            }
            if (!HostName().IsMatch(domain))
            {
                reader.Error(domainNode, $"{label} domain '{domain}' is not a valid lower-case DNS name");
            }
            else if (domain.StartsWith("*.", StringComparison.Ordinal) && challenge == "http-01")
            {
                reader.Error(domainNode, $"{label} domain '{domain}' is a wildcard; CAs issue wildcards only with dns-01, not http-01");
            }
            domains.Add(domain);
        }
        return domains;
    }

    private static CertificateInstallSpec? ReadInstall(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "format", "cert", "key", "path", "owner", "group", "verify") is not { } map)
        {
            return null;
        }
        var format = reader.RequiredString(map, "format", what);
        string[] needs = format switch
        {
            "pem-pair" => ["cert", "key"],
            "combined" or "haproxy" => ["path"],
            _ => [],
        };
        if (format is not (null or "pem-pair" or "combined" or "haproxy"))
        {
            reader.Error(SpecReader.Get(map, "format")!, $"{what} format '{format}' must be pem-pair, combined or haproxy");
        }
        foreach (var key in needs)
        {
            if (SpecReader.Get(map, key) is null)
            {
                reader.Error(map, $"{what} format {format} needs '{key}'");
            }
        }
        if (format is null)
        {
            return null;
        }
        var install = new CertificateInstallSpec
        {
            Format = format,
            Cert = reader.AllowedPath(map, "cert", what),
            Key = reader.AllowedPath(map, "key", what),
            Path = reader.AllowedPath(map, "path", what),
            Owner = AccountName(map, "owner", what, reader),
            Group = AccountName(map, "group", what, reader),
            Verify = SpecReader.Get(map, "verify") is { } verifyNode ? ReadVerify(verifyNode, $"{what} verify", reader) : null,
        };
        if (install is { Cert: { } certPath, Key: { } keyPath } && System.IO.Path.GetFullPath(certPath) == System.IO.Path.GetFullPath(keyPath))
        {
            // The key would be written where the certificate is read (a world-readable path, often).
            reader.Error(SpecReader.Get(map, "key")!, $"{what} key is the same file as its cert ({certPath}); give the private key a path of its own");
        }
        return install;
    }

    [GeneratedRegex(@"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):([0-9]{1,5})\z")]
    private static partial Regex HostPort();

    /// <summary><c>verify: {connect: HOST:PORT, sni: NAME}</c>, or <c>verify: false</c>.</summary>
    private static CertificateVerifySpec? ReadVerify(YamlNode node, string what, SpecReader reader)
    {
        if (node is YamlScalarNode { Value: "false" or "off" or "no" })
        {
            return CertificateVerifySpec.Off;
        }
        if (node is YamlScalarNode)
        {
            reader.Error(node, $"{what} must be {{connect: HOST:PORT, sni: NAME}} or false");
            return null;
        }
        if (reader.Block(node, what, "connect", "sni") is not { } map || reader.RequiredString(map, "connect", what) is not { } connect)
        {
            return null;
        }
        var match = HostPort().Match(connect);
        if (!match.Success || !int.TryParse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            reader.Error(SpecReader.Get(map, "connect")!, $"{what} connect '{connect}' is not HOST:PORT (e.g. 127.0.0.1:443, [::1]:8443)");
            return null;
        }
        var sni = reader.OptionalString(map, "sni", what);
        if (sni is not null && !HostName().IsMatch(sni) || sni?.StartsWith("*.", StringComparison.Ordinal) == true)
        {
            reader.Error(SpecReader.Get(map, "sni")!, $"{what} sni '{sni}' is not a lower-case DNS name (no wildcard)");
            return null;
        }
        return new CertificateVerifySpec { Connect = connect, Sni = sni };
    }

    private static CertificateReloadSpec? ReadReload(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "dockerSignal", "dockerExec", "command") is not { } map)
        {
            return null;
        }
        DockerSignalSpec? signal = null;
        if (SpecReader.Get(map, "dockerSignal") is { } signalNode && reader.Block(signalNode, $"{what} dockerSignal", "container", "signal") is { } signalMap)
        {
            if (reader.RequiredString(signalMap, "container", $"{what} dockerSignal") is { } container)
            {
                signal = new DockerSignalSpec { Container = container, Signal = reader.OptionalString(signalMap, "signal", $"{what} dockerSignal") ?? "HUP" };
            }
        }
        List<string>? command = null;
        if (SpecReader.Get(map, "command") is { } commandNode)
        {
            command = [.. reader.Sequence(map, "command", what).Select(n => reader.Scalar(n, $"{what} command argument")).OfType<string>()];
            if (command.Count == 0)
            {
                reader.Error(commandNode, $"{what} command must be a non-empty list of arguments (no shell)");
            }
            else if (!command[0].StartsWith('/'))
            {
                reader.Error(commandNode, $"{what} command '{command[0]}' must be an absolute path (no PATH lookup, no shell)");
            }
            else if (reader.Rules.AllowedCommands is { } allowed && !allowed.Contains(command[0], StringComparer.Ordinal))
            {
                reader.Error(commandNode, $"{what} command '{command[0]}' is not among the programs the agent may run "
                    + $"({(allowed.Count == 0 ? "none are allowed" : string.Join(", ", allowed))}); "
                    + "the host's agent config lists them under allowedCommands, by absolute path");
            }
        }
        DockerExecSpec? exec = null;
        if (SpecReader.Get(map, "dockerExec") is { } execNode && reader.Block(execNode, $"{what} dockerExec", "container", "command") is { } execMap
            && reader.RequiredString(execMap, "container", $"{what} dockerExec") is { } execContainer)
        {
            List<string> execCommand = [.. reader.Sequence(execMap, "command", $"{what} dockerExec").Select(n => reader.Scalar(n, $"{what} dockerExec command argument")).OfType<string>()];
            if (execCommand.Count == 0)
            {
                reader.Error(execMap, $"{what} dockerExec needs a non-empty command list, e.g. [nginx, -s, reload]");
            }
            exec = new DockerExecSpec { Container = execContainer, Command = execCommand };
        }
        return new CertificateReloadSpec { DockerSignal = signal, Command = command, DockerExec = exec };
    }

    private static string? AccountName(YamlMappingNode map, string key, string what, SpecReader reader)
    {
        var name = reader.OptionalString(map, key, what);
        if (name is not null && !AccountNamePattern().IsMatch(name))
        {
            reader.Error(SpecReader.Get(map, key)!, $"{what} {key} '{name}' is not a user or group name or a numeric id");
            return null;
        }
        return name;
    }

    /// <summary>A format's key file and pair store must be writable too, not only the paths the spec names.</summary>
    private static void CheckCompanions(YamlNode node, CertificateInstallSpec install, string certificate, int index, string what, SpecReader reader)
    {
        var named = new[] { install.Cert, install.Key, install.Path };
        if (named.Any(p => p is not null && !reader.Rules.AllowsWrite(p)))
        {
            return; // already reported
        }
        var created = install.Files.Where(f => !named.Contains(f)).ToList();
        if (install.StoreDirectory(certificate, index) is { } store)
        {
            created.Add(store);
        }
        foreach (var path in created.Where(p => !reader.Rules.AllowsWrite(p)))
        {
            reader.Error(node, $"{what} format {install.Format} also creates '{path}', which is outside the paths the agent may write ({string.Join(", ", reader.Rules.AllowedPathPrefixes)})");
        }
    }

    /// <summary>
    /// A certificate the controller obtains with dns-01 needs the acme block's dns01 settings (the key that
    /// may update the zone). Only a spec with an acme block is checked: a node's own desired state, as the
    /// controller sends it, has none.
    /// </summary>
    public override void CheckDocument(SpecDocument spec, YamlMappingNode top, SpecReader reader)
    {
        if (spec.Acme is not { Dns01: null } || SpecReader.Get(top, "acme") is not { } acmeNode)
        {
            return;
        }
        var users = spec.Nodes.Select(n => ($"node '{n.Key}'", n.Value.Blocks)).Concat(spec.Profiles.Select(p => ($"profile '{p.Key}'", p.Value.Blocks)))
            .SelectMany(owner => (owner.Blocks.Certificates ?? []).Where(c => c.Challenge == "dns-01" && c.Source is null).Select(c => $"certificate '{c.Name}' ({owner.Item1})"))
            .Distinct(StringComparer.Ordinal).ToList();
        if (users.Count > 0)
        {
            reader.Error(acmeNode, $"acme has no dns01 block, but {string.Join(", ", users)} uses dns-01: add acme.dns01 with tsigKeyFile, the key the controller updates the zone with");
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyList<CertificateSpec>? Merge(IReadOnlyList<(string Profile, IReadOnlyList<CertificateSpec> Block)> fromProfiles,
        IReadOnlyList<CertificateSpec>? fromNode, List<string> conflicts) =>
        SpecMerge.ByKey(
            fromProfiles.Select(p => (p.Profile, (IReadOnlyDictionary<string, CertificateSpec>)p.Block.ToDictionary(c => c.Name, StringComparer.Ordinal))),
            fromNode?.ToDictionary(c => c.Name, StringComparer.Ordinal), Same, "certificate", conflicts)
        ?.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();

    private static bool Same(CertificateSpec a, CertificateSpec b) =>
        a.Name == b.Name && a.Challenge == b.Challenge && a.Domains.SequenceEqual(b.Domains) && a.Install.SequenceEqual(b.Install)
        && Equals(a.Source, b.Source)
        && (a.Reload, b.Reload) switch
        {
            (null, null) => true,
            ({ } x, { } y) => Equals(x.DockerSignal, y.DockerSignal) && SpecMerge.SameList(x.Command, y.Command)
                && (x.DockerExec, y.DockerExec) switch
                {
                    (null, null) => true,
                    ({ } p, { } q) => p.Container == q.Container && p.Command.SequenceEqual(q.Command),
                    _ => false,
                },
            _ => false,
        };

    /// <inheritdoc/>
    public override YamlNode Write(IReadOnlyList<CertificateSpec> block) => new YamlSequenceNode(block.Select(WriteOne));

    private static YamlNode WriteOne(CertificateSpec certificate)
    {
        var map = new YamlMappingNode
        {
            { "name", certificate.Name },
            { "domains", SpecYaml.Sequence(certificate.Domains) },
            { "challenge", certificate.Challenge },
        };
        if (certificate.Source is { } source)
        {
            map.Add("source", new YamlMappingNode { { "cert", source.Cert }, { "key", source.Key } });
        }
        if (certificate.Install.Count > 0)
        {
            map.Add("install", new YamlSequenceNode(certificate.Install.Select(i =>
            {
                var install = new YamlMappingNode { { "format", i.Format } };
                SpecYaml.AddIf(install, "cert", i.Cert);
                SpecYaml.AddIf(install, "key", i.Key);
                SpecYaml.AddIf(install, "path", i.Path);
                SpecYaml.AddIf(install, "owner", i.Owner);
                SpecYaml.AddIf(install, "group", i.Group);
                if (i.Verify is { IsOff: true })
                {
                    install.Add("verify", "false");
                }
                else if (i.Verify is { } verify)
                {
                    var verifyMap = new YamlMappingNode { { "connect", verify.Connect } };
                    SpecYaml.AddIf(verifyMap, "sni", verify.Sni);
                    install.Add("verify", verifyMap);
                }
                return (YamlNode)install;
            })));
        }
        if (certificate.Reload is { } reload)
        {
            var reloadMap = new YamlMappingNode();
            if (reload.DockerSignal is { } signal)
            {
                reloadMap.Add("dockerSignal", new YamlMappingNode { { "container", signal.Container }, { "signal", signal.Signal } });
            }
            if (reload.DockerExec is { } exec)
            {
                reloadMap.Add("dockerExec", new YamlMappingNode { { "container", exec.Container }, { "command", SpecYaml.Sequence(exec.Command) } });
            }
            if (reload.Command is { } command)
            {
                reloadMap.Add("command", SpecYaml.Sequence(command));
            }
            map.Add("reload", reloadMap);
        }
        return map;
    }
}

/// <summary>The certificates block of a node.</summary>
public static class CertificateBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>Certificates to obtain and install; null when not set.</summary>
        public IReadOnlyList<CertificateSpec>? Certificates => blocks.Get(CertificatesKind.Instance);
    }
}
