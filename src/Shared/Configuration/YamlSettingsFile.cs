using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Configuration;

/// <summary>
/// A small settings file (agent.yaml, hawserctl.yaml) read from YAML's node tree. YamlDotNet's
/// deserializer finds properties by reflection, which trimming removes; reading the tree needs none.
/// Every problem is collected with its file, line and column, and the file is rejected whole.
/// </summary>
public sealed class YamlSettingsFile
{
    private readonly List<string> _errors = [];

    private YamlSettingsFile(string path) => Path = path;

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The top-level mapping (empty for an empty file).</summary>
    public YamlSettingsMap Root { get; private set; } = null!;

    /// <summary>Parses <paramref name="path"/>; a syntax error is recorded, not thrown, so <see cref="ThrowIfInvalid"/> reports it with the rest.</summary>
    public static YamlSettingsFile Load(string path)
    {
        var file = new YamlSettingsFile(path);
        var stream = new YamlStream();
        var text = IO.TextInput.ReadUtf8(path);
        if (YamlPreflight.TabIndent(text) is { } tab)
        {
            file.Error(tab.Where, tab.Message);
        }
        else
        {
            try
            {
                stream.Load(new YamlPreflight.CheckedParser(new Parser(new StringReader(text)), refuseAnchors: false));
            }
            catch (YamlException ex)
            {
                var problem = YamlPreflight.Problem(ex);
                file.Error(problem.Where, problem.Message);
            }
        }
        var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        if (stream.Documents.Count > 1)
        {
            file.Error(stream.Documents[1].RootNode.Start, "a settings file is one YAML document");
        }
        file.Root = new YamlSettingsMap(file, root switch
        {
            null or YamlScalarNode { Value: null or "" } => new YamlMappingNode(),
            YamlMappingNode map => map,
            _ => file.Invalid(root, "the file must be a mapping of settings (key: value)"),
        }, "");
        return file;
    }

    /// <summary>Throws <see cref="InvalidDataException"/> listing every error, one per line.</summary>
    public void ThrowIfInvalid()
    {
        if (_errors.Count > 0)
        {
            throw new InvalidDataException(string.Join("\n", _errors));
        }
    }

    internal void Error(Mark mark, string message) => _errors.Add($"{Path}:{mark.Line}:{mark.Column}: {message}");

    internal YamlMappingNode Invalid(YamlNode node, string message)
    {
        Error(node.Start, message);
        return new YamlMappingNode();
    }
}

/// <summary>One mapping of a <see cref="YamlSettingsFile"/>; getters return null when a key is absent or wrong (the error is recorded).</summary>
public sealed class YamlSettingsMap
{
    private readonly YamlSettingsFile _file;
    private readonly YamlMappingNode _node;
    private readonly string _prefix;

    internal YamlSettingsMap(YamlSettingsFile file, YamlMappingNode node, string prefix)
    {
        _file = file;
        _node = node;
        _prefix = prefix;
    }

    /// <summary>Records every key that is not one of <paramref name="known"/>: a misspelt key must not be silently ignored.</summary>
    public void AllowOnly(params string[] known)
    {
        foreach (var key in _node.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                _file.Error(key.Start, $"unknown setting '{_prefix}{name}'; known: {string.Join(", ", known)}");
            }
        }
    }

    /// <summary>A scalar value.</summary>
    public string? Text(string key) => Get(key) is { } node ? Scalar(node, key) : null;

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; one out of range is named with the range.</summary>
    public int? WholeNumber(string key, int min, int max)
    {
        if (Get(key) is not { } node || Scalar(node, key) is not { } text)
        {
            return null;
        }
        if (!System.Numerics.BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            _file.Error(node.Start, $"{_prefix}{key} '{text}' must be a whole number from {min} to {max}");
            return null;
        }
        if (value < min || value > max)
        {
            _file.Error(node.Start, $"{_prefix}{key} {text} is out of range: it must be from {min} to {max}");
            return null;
        }
        return (int)value;
    }

    /// <summary>true or false.</summary>
    public bool? Flag(string key)
    {
        if (Get(key) is not { } node || Scalar(node, key) is not { } text)
        {
            return null;
        }
        if (text is "true" or "false")
        {
            return text == "true";
        }
        _file.Error(node.Start, $"{_prefix}{key} '{text}' must be true or false");
        return null;
    }

    /// <summary>Labels to select nodes by, written <c>key=value,key=value</c>; empty when absent, each malformed pair recorded.</summary>
    public IReadOnlyDictionary<string, string> Selector(string key)
    {
        var selector = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (Text(key) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (pair.Split('=', 2) is [{ Length: > 0 } name, { Length: > 0 } value])
            {
                selector[name] = value;
            }
            else
            {
                Invalid(key, $"{_prefix}{key}: '{pair}' is not key=value (e.g. role=web,tier=front)");
            }
        }
        return selector;
    }

    /// <summary>A nested mapping, e.g. acmeChallenge: {listen: ...}; null when absent.</summary>
    public YamlSettingsMap? Section(string key)
    {
        if (Get(key) is not { } node)
        {
            return null;
        }
        var mapping = node as YamlMappingNode ?? _file.Invalid(node, $"{_prefix}{key} must be a mapping");
        return new YamlSettingsMap(_file, mapping, $"{_prefix}{key}.");
    }

    /// <summary>A list of scalars.</summary>
    public IReadOnlyList<string>? StringList(string key)
    {
        if (Get(key) is not { } node)
        {
            return null;
        }
        if (node is not YamlSequenceNode sequence)
        {
            _file.Error(node.Start, $"{_prefix}{key} must be a list, e.g. [a, b]");
            return null;
        }
        return sequence.Children.Select(item => Scalar(item, key)).OfType<string>().ToList();
    }

    /// <summary>A mapping of names to mappings, e.g. services: {docker: {...}}.</summary>
    public IReadOnlyList<(string Name, YamlSettingsMap Map)>? Maps(string key)
    {
        if (Get(key) is not { } node)
        {
            return null;
        }
        if (node is not YamlMappingNode mapping)
        {
            _file.Error(node.Start, $"{_prefix}{key} must be a mapping");
            return null;
        }
        var maps = new List<(string, YamlSettingsMap)>();
        foreach (var (name, value) in mapping.Children)
        {
            var label = (name as YamlScalarNode)?.Value ?? "";
            var inner = value as YamlMappingNode ?? _file.Invalid(value, $"{_prefix}{key}.{label} must be a mapping");
            maps.Add((label, new YamlSettingsMap(_file, inner, $"{_prefix}{key}.{label}.")));
        }
        return maps;
    }

    /// <summary>Records a problem with the value of <paramref name="key"/> that the caller found.</summary>
    public void Invalid(string key, string message) => _file.Error((Get(key) ?? _node).Start, message);

    private YamlNode? Get(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is not YamlScalarNode { Value: null or "" } ? value : null;

    private string? Scalar(YamlNode node, string key)
    {
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value;
        }
        _file.Error(node.Start, $"{_prefix}{key} must be a single value, not a list or mapping");
        return null;
    }
}
