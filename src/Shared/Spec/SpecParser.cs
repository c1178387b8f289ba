using Hawser.Shared.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec;

/// <summary>
/// Reads a spec from YAML and checks it, collecting every error with its file, line and column. This
/// core reads the document, nodes, profiles, selectors and the ACME account, and hands each resource
/// block to its kind (<see cref="SpecKinds.All"/>). Alternative spellings are refused (a sysctl written
/// with slashes, an IPv4 prefix where IPv6 is meant) so that two entries can never fight over one setting.
/// </summary>
public static class SpecParser
{
    private static readonly string[] TopKeys = ["apiVersion", "acme", "nodes", "profiles"];
    private static readonly string[] AcmeKeys = ["directory", "issuers", "email", "statelessFallback", "preflight", "validationPort", "dns01"];

    /// <summary>Parses and validates <paramref name="text"/>, read from <paramref name="fileName"/>.</summary>
    public static SpecParseResult Parse(string text, string fileName, SpecRules? rules = null)
    {
        var reader = new SpecReader(fileName, rules ?? new SpecRules());
        if (text.Length > reader.Rules.MaxLength)
        {
            reader.Error(1, 1, $"the spec is {text.Length} characters; the limit is {reader.Rules.MaxLength}");
            return new SpecParseResult(null, reader.Errors);
        }
        if (YamlPreflight.TabIndent(text) is { } tab)
        {
            reader.Error(tab.Where, tab.Message);
            return new SpecParseResult(null, reader.Errors);
        }
        // Depth, control characters and anchors are checked as the tree is built, event by event, in the one parse:
        // a spec never needs anchors, and refusing them also refuses alias bombs before any expansion.
        var stream = new YamlStream();
        try
        {
            stream.Load(new YamlPreflight.CheckedParser(new Parser(new StringReader(text)), refuseAnchors: true));
        }
        catch (YamlException ex)
        {
            var problem = YamlPreflight.Problem(ex);
            reader.Error(problem.Where, problem.Message);
            return new SpecParseResult(null, reader.Errors);
        }
        if (stream.Documents.Count == 0)
        {
            reader.Error(1, 1, $"the spec is empty; it needs at least 'apiVersion: {SpecDocument.CurrentApiVersion}' and 'nodes'");
            return new SpecParseResult(null, reader.Errors);
        }
        if (stream.Documents.Count != 1)
        {
            reader.Error(1, 1, $"a spec is one YAML document; this file has {stream.Documents.Count}");
            return new SpecParseResult(null, reader.Errors);
        }
        var spec = ReadDocument(stream.Documents[0].RootNode, reader);
        return reader.Errors.Count == 0 ? new SpecParseResult(spec, []) : new SpecParseResult(null, reader.Errors);
    }

    /// <summary>True when <paramref name="name"/> is a valid node name (1-63 letters, digits, '.', '_' or '-', starting with a letter or digit).</summary>
    public static bool IsValidNodeName(string name) => SpecReader.IsName(name);

    private static string[] BlockKeys => [.. SpecKinds.All.Select(k => k.Key)];

    private static SpecDocument? ReadDocument(YamlNode root, SpecReader reader)
    {
        if (reader.Block(root, "the spec", TopKeys) is not { } top)
        {
            return null;
        }
        var apiVersion = SpecReader.Get(top, "apiVersion");
        if (apiVersion is null)
        {
            reader.Error(top, $"apiVersion is missing; this build reads '{SpecDocument.CurrentApiVersion}'");
        }
        else if (reader.Scalar(apiVersion, "apiVersion") is { } version && version != SpecDocument.CurrentApiVersion)
        {
            reader.Error(apiVersion, $"apiVersion '{version}' is not supported; this build reads '{SpecDocument.CurrentApiVersion}'");
        }
        var profiles = new Dictionary<string, ProfileSpec>(StringComparer.Ordinal);
        if (SpecReader.Get(top, "profiles") is { } profilesNode && reader.Mapping(profilesNode, "profiles") is { } profileMap)
        {
            foreach (var (key, value) in profileMap.Children)
            {
                if (reader.Scalar(key, "a profile name") is { } name && ReadProfile(value, $"profile '{name}'", reader) is { } profile)
                {
                    profiles[name] = profile;
                }
            }
        }
        var nodes = new Dictionary<string, NodeSpec>(StringComparer.Ordinal);
        if (SpecReader.Get(top, "nodes") is not { } nodesNode)
        {
            reader.Error(top, "nodes is missing: a spec names at least one node");
        }
        else if (reader.Mapping(nodesNode, "nodes") is { } nodeMap)
        {
            foreach (var (key, value) in nodeMap.Children)
            {
                if (reader.Scalar(key, "a node name") is not { } name)
                {
                    continue;
                }
                if (!IsValidNodeName(name))
                {
                    reader.Error(key, $"node name '{name}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
                }
                if (ReadNode(value, $"node '{name}'", reader) is not { } node)
                {
                    continue;
                }
                nodes[name] = node;
                if (node.Blocks.IsEmpty && !profiles.Values.Any(p => p.Selects(node.Labels)))
                {
                    reader.Error(key, $"node '{name}' is matched by no profile and holds no blocks: it would manage nothing");
                }
            }
        }
        var acme = SpecReader.Get(top, "acme") is { } acmeNode ? ReadAcme(acmeNode, reader) : null;
        var document = new SpecDocument { Acme = acme, Nodes = nodes, Profiles = profiles };
        foreach (var kind in SpecKinds.All)
        {
            kind.CheckDocument(document, top, reader);
        }
        return document;
    }

    private static AcmeSpec? ReadAcme(YamlNode node, SpecReader reader)
    {
        if (reader.Block(node, "acme", AcmeKeys) is not { } map)
        {
            return null;
        }
        var issuers = new List<AcmeIssuerSpec>();
        if (SpecReader.Get(map, "directory") is { } directoryNode)
        {
            if (SpecReader.Get(map, "issuers") is not null)
            {
                reader.Error(directoryNode, "acme has both directory and issuers; list every CA under issuers (the first is asked first)");
            }
            else if (DirectoryOf(directoryNode, "acme.directory", reader) is { } only)
            {
                issuers.Add(new AcmeIssuerSpec { Directory = only });
            }
        }
        else if (SpecReader.Get(map, "issuers") is not { } issuersNode)
        {
            reader.Error(map, "acme needs a directory (the CA's directory URL), or issuers: a list of CAs, each with its directory");
        }
        else
        {
            var items = reader.Sequence(map, "issuers", "acme").ToList();
            if (items.Count == 0)
            {
                reader.Error(issuersNode, "acme.issuers must list at least one CA ({directory: URL})");
            }
            foreach (var item in items)
            {
                if (ReadIssuer(item, $"acme.issuers[{issuers.Count + 1}]", reader) is { } issuer)
                {
                    if (issuers.Any(i => i.Directory == issuer.Directory))
                    {
                        reader.Error(item, $"acme.issuers lists {issuer.Directory} twice");
                    }
                    issuers.Add(issuer);
                }
            }
        }
        return issuers.Count == 0 ? null : new AcmeSpec
        {
            Directory = issuers[0].Directory,
            Issuers = issuers,
            Email = reader.OptionalString(map, "email", "acme"),
            StatelessFallback = reader.OptionalBool(map, "statelessFallback", "acme") ?? true,
            Preflight = reader.OptionalBool(map, "preflight", "acme") ?? true,
            ValidationPort = reader.OptionalPort(map, "validationPort", "acme") ?? 80,
            Dns01 = SpecReader.Get(map, "dns01") is { } dns01 ? ReadDns01(dns01, reader) : null,
        };
    }

    private static Uri? DirectoryOf(YamlNode node, string what, SpecReader reader)
    {
        var directory = reader.Scalar(node, what);
        if (directory is not null && (!Uri.TryCreate(directory, UriKind.Absolute, out var uri) || uri.Scheme != "https"))
        {
            reader.Error(node, $"{what} '{directory}' must be an https:// URL");
            return null;
        }
        return directory is null ? null : new Uri(directory);
    }

    /// <summary>One CA of acme.issuers: <c>{directory: URL, eab: {kid: ID, hmacKeyFile: /PATH}}</c>.</summary>
    private static AcmeIssuerSpec? ReadIssuer(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "directory", "eab") is not { } map)
        {
            return null;
        }
        if (SpecReader.Get(map, "directory") is not { } directoryNode)
        {
            reader.Error(map, $"{what} needs a directory (the CA's directory URL)");
            return null;
        }
        var directory = DirectoryOf(directoryNode, $"{what} directory", reader);
        AcmeEabSpec? eab = null;
        if (SpecReader.Get(map, "eab") is { } eabNode && reader.Block(eabNode, $"{what} eab", "kid", "hmacKeyFile") is { } eabMap)
        {
            var kid = reader.RequiredString(eabMap, "kid", $"{what} eab");
            var keyFile = reader.RequiredString(eabMap, "hmacKeyFile", $"{what} eab");
            if (keyFile is not null && !IsControllerPath(keyFile))
            {
                reader.Error(SpecReader.Get(eabMap, "hmacKeyFile")!, $"{what} eab hmacKeyFile '{keyFile}' must be an absolute path on the controller without '.' or '..' segments");
                keyFile = null;
            }
            eab = kid is not null && keyFile is not null ? new AcmeEabSpec { Kid = kid, HmacKeyFile = keyFile } : null;
        }
        return directory is null ? null : new AcmeIssuerSpec { Directory = directory, Eab = eab };
    }

    /// <summary>An absolute path without '.' or '..' segments: a file on the controller a spec may name.</summary>
    private static bool IsControllerPath(string path) => path.StartsWith('/') && !path.Split('/').Any(segment => segment is "." or "..");

    private static AcmeDns01Spec? ReadDns01(YamlNode node, SpecReader reader)
    {
        const string what = "acme.dns01";
        if (reader.Block(node, what, "tsigKeyFile", "server", "propagationTimeout") is not { } map)
        {
            return null;
        }
        var keyFile = reader.RequiredString(map, "tsigKeyFile", what);
        if (keyFile is not null && !IsControllerPath(keyFile))
        {
            reader.Error(SpecReader.Get(map, "tsigKeyFile")!, $"{what} tsigKeyFile '{keyFile}' must be an absolute path on the controller without '.' or '..' segments");
            keyFile = null;
        }
        var server = reader.OptionalString(map, "server", what);
        if (server is not null && !System.Net.IPEndPoint.TryParse(server, out _))
        {
            reader.Error(SpecReader.Get(map, "server")!, $"{what} server '{server}' must be an IP address, optionally with a port (192.0.2.53:53, [2001:db8::53]:53)");
            server = null;
        }
        var timeout = 120;
        if (reader.OptionalString(map, "propagationTimeout", what) is { } text)
        {
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out timeout) || timeout is < 1 or > 3600)
            {
                reader.Error(SpecReader.Get(map, "propagationTimeout")!, $"{what} propagationTimeout '{text}' must be a number of seconds from 1 to 3600");
            }
        }
        return keyFile is null ? null : new AcmeDns01Spec { TsigKeyFile = keyFile, Server = server, PropagationTimeoutSeconds = timeout };
    }

    private static NodeSpec? ReadNode(YamlNode node, string what, SpecReader reader)
    {
        if (node is YamlScalarNode { Value: null or "" })
        {
            return new NodeSpec();
        }
        if (reader.Block(node, what, ["labels", .. BlockKeys]) is not { } map)
        {
            return null;
        }
        return new NodeSpec
        {
            Labels = SpecReader.Get(map, "labels") is { } labels ? reader.StringMap(labels, $"{what} labels") : new Dictionary<string, string>(),
            Blocks = ReadBlocks(map, what, reader),
        };
    }

    private static ProfileSpec? ReadProfile(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, ["selector", .. BlockKeys]) is not { } map)
        {
            return null;
        }
        var selector = SpecReader.Get(map, "selector") is { } s ? reader.StringMap(s, $"{what} selector") : new Dictionary<string, string>();
        if (selector.Count == 0)
        {
            reader.Error(map, $"{what} needs a selector with at least one label, e.g. selector: {{role: web}}");
        }
        return new ProfileSpec { Selector = selector, Blocks = ReadBlocks(map, what, reader) };
    }

    /// <summary>Each block present goes to its kind, in the table's order (so errors come in that order).</summary>
    private static ResourceBlocks ReadBlocks(YamlMappingNode map, string what, SpecReader reader)
    {
        var blocks = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var kind in SpecKinds.All)
        {
            if (SpecReader.Get(map, kind.Key) is { } node && kind.Read(node, $"{what} {kind.Key}", reader) is { } block)
            {
                blocks[kind.Key] = block;
            }
        }
        return new ResourceBlocks(blocks);
    }
}
