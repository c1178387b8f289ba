namespace Hawser.Shared.Spec;

/// <summary>A whole spec file (<c>apiVersion: hawser/v1</c>): nodes, profiles and the ACME account.</summary>
public sealed record SpecDocument
{
    /// <summary>The only version this build reads.</summary>
    public const string CurrentApiVersion = "hawser/v1";

    /// <summary>The controller's CA account; null when the spec orders no certificates.</summary>
    public AcmeSpec? Acme { get; init; }

    /// <summary>Nodes by name.</summary>
    public IReadOnlyDictionary<string, NodeSpec> Nodes { get; init; } = new Dictionary<string, NodeSpec>();

    /// <summary>Profiles by name.</summary>
    public IReadOnlyDictionary<string, ProfileSpec> Profiles { get; init; } = new Dictionary<string, ProfileSpec>();
}

/// <summary>The ACME account the controller uses.</summary>
public sealed record AcmeSpec
{
    /// <summary>The CA's directory URL.</summary>
    public required Uri Directory { get; init; }

    /// <summary>The account's contact address.</summary>
    public string? Email { get; init; }

    /// <summary>Agents answer a token they were not pushed as TOKEN.THUMBPRINT, so a silent node does not stop an order (default true).</summary>
    public bool StatelessFallback { get; init; } = true;

    /// <summary>Before ordering, check that every A and AAAA address of each name is a target node answering HTTP-01 (default true).</summary>
    public bool Preflight { get; init; } = true;

    /// <summary>The port the CA validates HTTP-01 on: 80 for every public CA; a test CA may use another.</summary>
    public int ValidationPort { get; init; } = 80;
}

/// <summary>One node: its labels and node-level blocks, which override the profiles' key by key.</summary>
public sealed record NodeSpec
{
    /// <summary>Labels that profile selectors match.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The node's own blocks.</summary>
    public ResourceBlocks Blocks { get; init; } = new();
}

/// <summary>Blocks applied to every node whose labels match <see cref="Selector"/>.</summary>
public sealed record ProfileSpec
{
    /// <summary>Every key must match the node's label.</summary>
    public IReadOnlyDictionary<string, string> Selector { get; init; } = new Dictionary<string, string>();

    /// <summary>The profile's blocks.</summary>
    public ResourceBlocks Blocks { get; init; } = new();

    /// <summary>True when this profile applies to a node with <paramref name="labels"/>; an empty selector selects nothing.</summary>
    public bool Selects(IReadOnlyDictionary<string, string> labels) => Selector.Count > 0 && LabelSelector.Matches(Selector, labels);
}

/// <summary>The resource blocks a node or profile may hold; null means "not set here".</summary>
public sealed record ResourceBlocks
{
    /// <summary>Kernel parameters, dotted name to value.</summary>
    public IReadOnlyDictionary<string, string>? Sysctls { get; init; }

    /// <summary>ufw settings.</summary>
    public UfwSpec? Ufw { get; init; }

    /// <summary>NDP proxying for a prefix the provider does not route.</summary>
    public NdpProxySpec? NdpProxy { get; init; }

    /// <summary>Docker daemon IPv6 and networks.</summary>
    public DockerSpec? Docker { get; init; }

    /// <summary>Certificates to obtain and install.</summary>
    public IReadOnlyList<CertificateSpec>? Certificates { get; init; }

    /// <summary>True when no block is set.</summary>
    public bool IsEmpty => Sysctls is null && Ufw is null && NdpProxy is null && Docker is null && Certificates is null;
}

/// <summary>ufw's DEFAULT_FORWARD_POLICY.</summary>
public sealed record UfwSpec
{
    /// <summary>ACCEPT, DROP or REJECT.</summary>
    public required string ForwardPolicy { get; init; }
}

/// <summary>NDP proxying on one interface.</summary>
public sealed record NdpProxySpec
{
    /// <summary>The interface facing the provider's router.</summary>
    public required string Interface { get; init; }

    /// <summary><c>ndppd</c> (a daemon answering for prefixes) or <c>kernel</c> (proxy entries per address).</summary>
    public string Mode { get; init; } = "ndppd";

    /// <summary>ndppd rules.</summary>
    public IReadOnlyList<NdpRuleSpec> Rules { get; init; } = [];

    /// <summary>Single addresses answered by kernel proxy entries (in either mode).</summary>
    public IReadOnlyList<System.Net.IPAddress> Addresses { get; init; } = [];
}

/// <summary>One ndppd rule.</summary>
public sealed record NdpRuleSpec
{
    /// <summary>The proxied IPv6 prefix.</summary>
    public required System.Net.IPNetwork Prefix { get; init; }

    /// <summary><c>static</c>, <c>auto</c> or <c>iface</c>.</summary>
    public string Method { get; init; } = "static";

    /// <summary>The interface ndppd asks, for method <c>iface</c>.</summary>
    public string? Via { get; init; }
}

/// <summary>Docker's IPv6 settings.</summary>
public sealed record DockerSpec
{
    /// <summary>Managed daemon.json keys.</summary>
    public DockerDaemonSpec? Daemon { get; init; }

    /// <summary>User-defined networks.</summary>
    public IReadOnlyList<DockerNetworkSpec> Networks { get; init; } = [];
}

/// <summary>daemon.json IPv6 keys.</summary>
public sealed record DockerDaemonSpec
{
    /// <summary><c>ipv6</c>.</summary>
    public bool? Ipv6 { get; init; }

    /// <summary><c>fixed-cidr-v6</c>.</summary>
    public System.Net.IPNetwork? FixedCidrV6 { get; init; }

    /// <summary><c>ip6tables</c>.</summary>
    public bool? Ip6tables { get; init; }

    /// <summary><c>experimental</c>.</summary>
    public bool? Experimental { get; init; }

    /// <summary><c>default-address-pools</c>.</summary>
    public IReadOnlyList<DockerAddressPoolSpec>? DefaultAddressPools { get; init; }

    /// <summary>True when no key is set.</summary>
    public bool IsEmpty => Ipv6 is null && FixedCidrV6 is null && Ip6tables is null && Experimental is null && DefaultAddressPools is null;
}

/// <summary>One entry of <c>default-address-pools</c>.</summary>
public sealed record DockerAddressPoolSpec
{
    /// <summary>The pool networks are cut from.</summary>
    public required System.Net.IPNetwork Base { get; init; }

    /// <summary>The prefix length of each network cut from it.</summary>
    public required int Size { get; init; }
}

/// <summary>A user-defined Docker network with an IPv6 subnet.</summary>
public sealed record DockerNetworkSpec
{
    /// <summary>The network's name.</summary>
    public required string Name { get; init; }

    /// <summary>Its IPv6 subnet.</summary>
    public System.Net.IPNetwork? Ipv6Subnet { get; init; }

    /// <summary>Replace an existing network whose subnet differs, when no container is attached.</summary>
    public bool Recreate { get; init; }
}

/// <summary>A certificate: which names, how it is validated, where it goes, what reloads.</summary>
public sealed record CertificateSpec
{
    /// <summary>A name unique within the spec.</summary>
    public required string Name { get; init; }

    /// <summary>The DNS names, the first one the subject.</summary>
    public required IReadOnlyList<string> Domains { get; init; }

    /// <summary><c>http-01</c>.</summary>
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
